// Command profrun runs a slimta-lua script like the CLI does, with Go
// profiling hooks for performance work on scripts/mta.lua. The CLI has no
// profiling flag, so this small runner exists beside the scripts:
//
//	go build -o /tmp/perf/profrun ./scripts/profrun
//	SLIMTA_CPUPROFILE=/tmp/perf/cpu.pprof SLIMTA_PROFILE_DELAY=3 \
//	SLIMTA_PROFILE_SECONDS=10 /tmp/perf/profrun scripts/mta.lua --port 2600 ...
//	go tool pprof -top /tmp/perf/profrun /tmp/perf/cpu.pprof
//
// Environment:
//
//	SLIMTA_CPUPROFILE       CPU profile file (none when unset)
//	SLIMTA_MEMPROFILE       allocation profile file, written when the CPU
//	                        window ends (or after the delay + seconds)
//	SLIMTA_LUAPROF          Lua function profile (text report, see luaprof.go)
//	SLIMTA_TRACE            execution trace file (go tool trace), for
//	                        SLIMTA_TRACE_SECONDS (default 1) after the delay
//	SLIMTA_PROFILE_DELAY    seconds to wait before profiling (default 0)
//	SLIMTA_PROFILE_SECONDS  length of the profiling window (default 10)
//
// The window is timed rather than tied to process exit because mta.lua
// leaves with os.exit on SIGTERM, which skips deferred Go code. GOGC is
// set to 300 unless given, as in the CLI.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
)

func envSeconds(name string, def float64) time.Duration {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v >= 0 {
		return time.Duration(v * float64(time.Second))
	}
	return time.Duration(def * float64(time.Second))
}

func profile() {
	if path := os.Getenv("SLIMTA_TRACE"); path != "" {
		go func() {
			time.Sleep(envSeconds("SLIMTA_PROFILE_DELAY", 0))
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "profrun:", err)
				return
			}
			if err := trace.Start(f); err == nil {
				time.Sleep(envSeconds("SLIMTA_TRACE_SECONDS", 1))
				trace.Stop()
			}
			_ = f.Close()
		}()
	}
	cpu, mem := os.Getenv("SLIMTA_CPUPROFILE"), os.Getenv("SLIMTA_MEMPROFILE")
	if cpu == "" && mem == "" {
		return
	}
	delay := envSeconds("SLIMTA_PROFILE_DELAY", 0)
	length := envSeconds("SLIMTA_PROFILE_SECONDS", 10)
	go func() {
		time.Sleep(delay)
		if mem != "" {
			runtime.MemProfileRate = 4096
		}
		if cpu != "" {
			f, err := os.Create(cpu)
			if err != nil {
				fmt.Fprintln(os.Stderr, "profrun:", err)
				return
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "profrun:", err)
				return
			}
			time.Sleep(length)
			pprof.StopCPUProfile()
			_ = f.Close()
		} else {
			time.Sleep(length)
		}
		if mem != "" {
			f, err := os.Create(mem)
			if err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}
		fmt.Fprintln(os.Stderr, "profrun: profile written")
	}()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: profrun script.lua [args]")
		os.Exit(64)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(300)
	}
	profile()
	rt := slimtalua.New()
	if path := os.Getenv("SLIMTA_LUAPROF"); path != "" {
		startLuaProf(rt.State(), path, envSeconds("SLIMTA_PROFILE_DELAY", 0), envSeconds("SLIMTA_PROFILE_SECONDS", 10))
	}
	rt.SetArgs(os.Args, 1)
	if err := rt.RunFile(context.Background(), os.Args[1], os.Args[2:]...); err != nil {
		fmt.Fprintln(os.Stderr, "profrun:", err)
		if e, ok := err.(*slimtalua.Error); ok && e.Traceback != "" {
			fmt.Fprintln(os.Stderr, e.Traceback)
		}
		os.Exit(1)
	}
}

func runtimeFuncName(pc uintptr) string {
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return ""
}
