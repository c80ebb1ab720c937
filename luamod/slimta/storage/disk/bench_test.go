package disk_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/disk"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	lua "github.com/yuin/gopher-lua"
)

// A typical small mail: meta as slimta.message.to_meta makes it, 2 KiB.
var (
	benchMeta = lstore.Meta{
		"timestamp": 1357000000.0, "attempts": 0.0, "protocol": "ESMTP",
		"ehlo": "client.example.org", "ip": "127.0.0.1", "security": "none",
		"receiver": "mx.example.net", "sender": "sender@example.org",
		"recipients": "\x00rcpt@example.net",
	}
	benchContents = "Subject: test\r\n\r\n" + strings.Repeat("0123456789abcdef", 127) + "\r\n"
)

// BenchmarkStore: stores through the Go API from N goroutines; reports
// messages/s and fsync'd transactions per message.
func BenchmarkStore(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := disk.Acquire(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Release()
			c0, _ := s.Stats()
			var next atomic.Int64
			var wg sync.WaitGroup
			when := 1.0
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := s.StoreMessage(context.Background(), benchMeta, benchContents, &when, ""); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			c1, _ := s.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(c1-c0)/float64(b.N), "fsyncs/msg")
		})
	}
}

// BenchmarkLifecycle: store, lock, delete per message (what the queue does
// for a message delivered at the first attempt), 16 goroutines.
func BenchmarkLifecycle(b *testing.B) {
	s, err := disk.Acquire(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Release()
	ctx := context.Background()
	c0, _ := s.Stats()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				when := float64(time.Now().Unix() + 120)
				id, err := s.StoreMessage(ctx, benchMeta, benchContents, &when, "")
				if err == nil {
					_, _, err = s.Lock(ctx, id, 2*time.Minute)
				}
				if err == nil {
					_, err = s.Delete(ctx, id)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	c1, _ := s.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(c1-c0)/float64(b.N), "fsyncs/msg")
}

// BenchmarkLuaStore: session:store_message from N ratchet threads of one
// runtime (kernel.Block hand-offs included), the way slimta.queue stores.
func BenchmarkLuaStore(b *testing.B) {
	for _, threads := range []int{1, 16} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			rt := slimtalua.New()
			defer rt.Close()
			L := rt.State()
			slimta.PreloadStorage(L)
			L.SetGlobal("DIR", lua.LString(b.TempDir()))
			L.SetGlobal("N", lua.LNumber(b.N))
			L.SetGlobal("THREADS", lua.LNumber(threads))
			L.SetGlobal("CONTENTS", lua.LString(benchContents))
			b.ResetTimer()
			start := time.Now()
			err := rt.RunString(context.Background(), `
				require "ratchet"
				require "slimta.storage.disk"
				local storage = slimta.storage.disk.new(DIR)
				local done = 0
				ratchet.new(function ()
					for t = 1, THREADS do
						ratchet.thread.attach(function ()
							local s = storage:connect()
							while done < N do
								done = done + 1
								s:store_message({timestamp = 1357000000, attempts = 0,
									sender = "sender@example.org", recipients = "\0rcpt@example.net",
									protocol = "ESMTP", ehlo = "client.example.org", ip = "127.0.0.1",
									security = "none", receiver = "mx.example.net"},
									CONTENTS, os.time() + 120)
							end
						end)
					end
				end):loop()
				COMMITS = storage:stats()
				storage:shutdown()
			`, "bench")
			elapsed := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			commits := float64(L.GetGlobal("COMMITS").(lua.LNumber))
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(commits/float64(b.N), "fsyncs/msg")
		})
	}
}
