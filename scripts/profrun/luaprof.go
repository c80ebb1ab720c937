package main

// A sampling profiler of Lua functions, for finding where the baton time of
// mta.lua goes (Go's CPU profile only shows gopher-lua's interpreter loop).
// Every SLIMTA_LUAPROF_INTERVAL seconds (default 0.00025) it looks at the
// ratchet thread that holds the baton, walks its Lua call frames and counts
// the innermost function (self), the innermost Lua line (with the Go
// function it called) and every function on the stack (total).
//
// Reading the report: the kernel marks a thread as holding the baton from
// the moment it resumes it until the thread yields, so the samples of a
// blocking Go function (storeMessage, ioRecvReply, threadPause...) are
// mostly the wake-up latency of the thread's goroutine, not CPU; compare
// with the Go CPU profile (SLIMTA_CPUPROFILE) before blaming them.
//
// It reads gopher-lua and kernel internals from another goroutine without
// synchronisation (unsafe, field offsets found by reflection). That is only
// acceptable in a development tool: values may be momentarily stale, which
// blurs single samples but not the statistics. Never use it in production.

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
)

// frame mirrors gopher-lua's unexported callFrame (v1.1.2) field by field.
type frame struct {
	Idx        int
	Fn         *lua.LFunction
	Parent     *frame
	Pc         int
	Base       int
	LocalBase  int
	ReturnBase int
	NArgs      int
	NRet       int
	TailCall   int
}

var curFrameOff = func() uintptr {
	f, ok := reflect.TypeOf(lua.LState{}).FieldByName("currentFrame")
	if !ok {
		panic("profrun: gopher-lua LState has no currentFrame")
	}
	return f.Offset
}()

type luaProf struct {
	self, total map[string]int // function -> samples
	lines       map[string]int
	samples     int
	idle        int
	stop        atomic.Bool
}

func funcName(fn *lua.LFunction, pc int, withLine bool) string {
	if fn == nil {
		return "?"
	}
	if fn.IsG {
		return "[Go] " + goFuncName(fn)
	}
	p := fn.Proto
	if p == nil {
		return "?"
	}
	src := p.SourceName
	if i := strings.LastIndex(src, "/"); i >= 0 {
		src = src[i+1:]
	}
	name := fmt.Sprintf("%s:%d", src, p.LineDefined)
	if withLine && pc > 0 && pc-1 < len(p.DbgSourcePositions) {
		name += fmt.Sprintf(" @%d", p.DbgSourcePositions[pc-1])
	}
	return name
}

var goNames = map[uintptr]string{}

func goFuncName(fn *lua.LFunction) string {
	if fn.GFunction == nil {
		return "?"
	}
	pc := reflect.ValueOf(fn.GFunction).Pointer()
	if n, ok := goNames[pc]; ok {
		return n
	}
	n := "?"
	if f := runtimeFuncName(pc); f != "" {
		n = f
	}
	goNames[pc] = n
	return n
}

// startLuaProf samples the universe of L (the main state) until the window
// ends, then writes a report to path.
func startLuaProf(L *lua.LState, path string, delay, length time.Duration) {
	interval := envSeconds("SLIMTA_LUAPROF_INTERVAL", 0.00025)
	go func() {
		time.Sleep(delay)
		ud, ok := L.G.Registry.RawGetString("ratchet.kernel.world").(*lua.LUserData)
		if !ok {
			fmt.Fprintln(os.Stderr, "profrun: no kernel world to profile")
			return
		}
		// world's first field is `cur *Thread`, the baton holder.
		worldPtr := (*[2]unsafe.Pointer)(unsafe.Pointer(&ud.Value))[1]
		curp := (**kernel.Thread)(worldPtr)
		p := &luaProf{self: map[string]int{}, total: map[string]int{}, lines: map[string]int{}}
		end := time.Now().Add(length)
		tick := time.NewTicker(interval)
		for now := range tick.C {
			if now.After(end) {
				break
			}
			p.samples++
			t := *curp
			if t == nil {
				p.idle++
				continue
			}
			co := t.Co()
			fr := *(**frame)(unsafe.Add(unsafe.Pointer(co), curFrameOff))
			if fr == nil {
				p.idle++
				continue
			}
			p.self[funcName(fr.Fn, 0, false)]++
			// innermost Lua line: the first Lua frame (with the Go
			// function it is in, if any)
			for f, n := fr, 0; f != nil && n < 200; f, n = f.Parent, n+1 {
				if f.Fn != nil && !f.Fn.IsG {
					line := funcName(f.Fn, f.Pc, true)
					if f != fr {
						line += " -> " + funcName(fr.Fn, 0, false)
					}
					p.lines[line]++
					break
				}
			}
			seen := map[string]bool{}
			for f, n := fr, 0; f != nil && n < 200; f, n = f.Parent, n+1 {
				name := funcName(f.Fn, 0, false)
				if !seen[name] {
					seen[name] = true
					p.total[name]++
				}
			}
		}
		tick.Stop()
		p.write(path)
	}()
}

func (p *luaProf) write(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profrun:", err)
		return
	}
	defer f.Close()
	busy := p.samples - p.idle
	fmt.Fprintf(f, "samples %d, baton held %d (%.1f%%)\n", p.samples, busy, 100*float64(busy)/float64(max(p.samples, 1)))
	dump := func(title string, m map[string]int, n int) {
		type kv struct {
			k string
			v int
		}
		var list []kv
		for k, v := range m {
			list = append(list, kv{k, v})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v })
		fmt.Fprintf(f, "\n== %s (%% of baton-held samples)\n", title)
		for i, e := range list {
			if i >= n {
				break
			}
			fmt.Fprintf(f, "%6.2f%%  %6d  %s\n", 100*float64(e.v)/float64(max(busy, 1)), e.v, e.k)
		}
	}
	dump("self", p.self, 60)
	dump("innermost Lua line", p.lines, 80)
	dump("total (inclusive)", p.total, 120)
}
