package kernel_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	slimtalua "github.com/slimta-lua/slimta-lua"
	lua "github.com/yuin/gopher-lua"
)

// BenchmarkHandoff measures thread hand-offs: two threads ping-pong with
// pause/unpause, each iteration passing the baton to the other thread.
func BenchmarkHandoff(b *testing.B) {
	rt := slimtalua.New()
	defer rt.Close()
	rt.L.SetGlobal("N", lua.LNumber(b.N))
	b.ResetTimer()
	err := rt.RunString(context.Background(), `
		require "ratchet"
		ratchet.new(function ()
			local a, c
			c = ratchet.thread.attach(function ()
				for i = 1, N do
					ratchet.thread.pause()
					ratchet.thread.unpause(a)
				end
			end)
			a = ratchet.thread.attach(function ()
				for i = 1, N do
					ratchet.thread.unpause(c)
					ratchet.thread.pause()
				end
			end)
		end):loop()
	`, "handoff")
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "handoffs/s")
}

// BenchmarkParkedThreadMemory parks 10,000 threads in a timer and reports
// heap and RSS per thread.
func BenchmarkParkedThreadMemory(b *testing.B) {
	const n = 10000
	for i := 0; i < b.N; i++ {
		rt := slimtalua.New()
		var m0, m1 runtime.MemStats
		var rss0, rss1 int64
		var g0, g1 int
		rt.Register("snapshot", func(L *lua.LState) int {
			runtime.GC()
			runtime.GC()
			if L.ToInt(1) == 0 {
				runtime.ReadMemStats(&m0)
				rss0, g0 = readRSS(), runtime.NumGoroutine()
			} else {
				runtime.ReadMemStats(&m1)
				rss1, g1 = readRSS(), runtime.NumGoroutine()
			}
			return 0
		})
		rt.L.SetGlobal("N", lua.LNumber(n))
		err := rt.RunString(context.Background(), `
			require "ratchet"
			ratchet.new(function ()
				snapshot(0)
				for i = 1, N do
					ratchet.thread.attach(function () ratchet.thread.timer(1) end)
				end
				ratchet.thread.timer(0.3) -- let all of them park
				snapshot(1)
			end):loop()
		`, "mem")
		rt.Close()
		if err != nil {
			b.Fatal(err)
		}
		heap := float64(m1.HeapInuse-m0.HeapInuse) / n / 1024
		stack := float64(m1.StackInuse-m0.StackInuse) / n / 1024
		b.ReportMetric(heap, "heapKiB/thread")
		b.ReportMetric(stack, "stackKiB/thread")
		b.ReportMetric(heap+stack, "KiB/thread")
		b.ReportMetric(float64(rss1-rss0)/n/1024, "rssKiB/thread")
		b.ReportMetric(float64(g1-g0), "goroutines")
		_ = fmt.Sprint()
	}
}
