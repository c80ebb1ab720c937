package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/redistest"
	lua "github.com/yuin/gopher-lua"
)

// BenchmarkLuaStore: session:store_message from N ratchet threads against
// a local redis-server (no persistence), as slimta.queue stores.
func BenchmarkLuaStore(b *testing.B) {
	srv := redistest.Start(b)
	for _, threads := range []int{1, 16} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			rt := slimtalua.New()
			defer rt.Close()
			L := rt.State()
			slimta.PreloadStorage(L)
			L.SetGlobal("REDIS_PORT", lua.LNumber(srv.Port))
			L.SetGlobal("N", lua.LNumber(b.N))
			L.SetGlobal("THREADS", lua.LNumber(threads))
			b.ResetTimer()
			start := time.Now()
			err := rt.RunString(context.Background(), `
				require "ratchet"
				require "slimta.storage.redis"
				local storage = slimta.storage.redis.new("127.0.0.1", REDIS_PORT)
				local contents = ("x"):rep(2048)
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
									contents, os.time() + 120)
							end
						end)
					end
				end):loop()
				storage:shutdown()
			`, "bench")
			elapsed := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}
