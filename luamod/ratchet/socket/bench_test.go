package socket_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// echoServer is the Lua echo server of BenchmarkEcho: one accept loop
// thread and one thread per connection doing recv/send.
const echoServer = `
	require "ratchet"
	ratchet.new(function ()
		local r = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
		local srv = ratchet.socket.new(r.family, r.socktype, r.protocol)
		srv:setsockopt("SO_REUSEADDR", true)
		srv:bind(r.addr)
		srv:listen()
		listening()
		while true do
			local c = srv:accept()
			ratchet.thread.attach(function ()
				while true do
					local d = c:recv()
					if d == "" then break end
					c:send(d)
				end
				c:close()
			end)
		end
	end):loop()
`

// startLuaEcho runs the Lua echo server in-process; stop cancels it.
func startLuaEcho(b *testing.B) (addr string, stop func()) {
	port := freePort(b)
	rt := slimtalua.New()
	rt.State().SetGlobal("PORT", lua.LNumber(port))
	listening := make(chan struct{})
	rt.Register("listening", func(*lua.LState) int { close(listening); return 0 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.RunString(ctx, echoServer, "echo") }()
	select {
	case <-listening:
	case err := <-done:
		b.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port), func() {
		cancel()
		<-done
		rt.Close()
	}
}

// startGoEcho runs a plain Go net echo server for comparison.
func startGoEcho(b *testing.B) (addr string, stop func()) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 8192)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// drive runs b.N round trips of 64-byte messages over conns clients and
// reports round trips per second.
func drive(b *testing.B, addr string, clients int) {
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	msg := []byte(strings.Repeat("m", 64))
	// One warm-up round trip per connection: every server thread exists.
	for _, c := range conns {
		buf := make([]byte, 64)
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
	var remaining atomic.Int64
	remaining.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	cpu0 := cpuTime()
	b.ResetTimer()
	for _, c := range conns {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			buf := make([]byte, 64)
			for remaining.Add(-1) >= 0 {
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rt/s")
	// CPU time (clients and server, user+system) per round trip: less
	// sensitive than rt/s to other load on the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/rt")
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEcho: round trips of 64-byte messages against the Lua echo
// server (lua/N) and a Go net echo server (go/N) with N client connections.
func BenchmarkEcho(b *testing.B) {
	raiseNoFile()
	for _, kind := range []string{"lua", "go"} {
		for _, n := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				var addr string
				var stop func()
				if kind == "lua" {
					addr, stop = startLuaEcho(b)
				} else {
					addr, stop = startGoEcho(b)
				}
				defer stop()
				drive(b, addr, n)
			})
		}
	}
}

func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func settle() (rss int64, heap uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return vmRSS(), m.HeapInuse
}

// BenchmarkIdleMemory: RSS and heap per idle connection with 1,000
// connections to the Lua echo server, each with its thread parked in
// recv. The clients live in a helper process, so the figures are the
// server's alone.
func BenchmarkIdleMemory(b *testing.B) {
	const n = 1000
	raiseNoFile()
	for i := 0; i < b.N; i++ {
		port := freePort(b)
		rt := slimtalua.New()
		rt.State().SetGlobal("PORT", lua.LNumber(port))
		rt.State().SetGlobal("N", lua.LNumber(n))
		listening := make(chan struct{})
		accepted := make(chan struct{})
		var rss0, rss1 int64
		var heap0, heap1 uint64
		rt.Register("listening", func(*lua.LState) int {
			rss0, heap0 = settle()
			close(listening)
			return 0
		})
		rt.Register("accepted", func(L *lua.LState) int {
			rss1, heap1 = settle()
			close(accepted)
			return 0
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		errc := make(chan error, 1)
		go func() { errc <- rt.RunString(ctx, idleServerMeasured, "idle") }()
		<-listening
		clients := startIdleClients(b, port, n)
		select {
		case <-accepted:
		case err := <-errc:
			b.Fatal(err)
		}
		clients.stop()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		cancel()
		rt.Close()
		b.ReportMetric(float64(rss1-rss0)/n, "RSS-B/conn")
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/n, "heap-B/conn")
	}
}

// idleServerMeasured is idleServer with a pause for the last threads to
// park before the measurement.
var idleServerMeasured = strings.Replace(idleServer, "accepted()", "ratchet.thread.timer(0.2)\n\t\taccepted()", 1)
