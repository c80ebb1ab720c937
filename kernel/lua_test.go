package kernel_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/stretchr/testify/require"
)

// TestLuaScripts runs every testdata/*.lua script; each asserts its own
// expectations and fails by raising.
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			err := rt.RunFile(ctx, f)
			if err != nil {
				var le *slimtalua.Error
				if ok := asError(err, &le); ok {
					t.Fatalf("%s\n%s", le.Message, le.Traceback)
				}
				t.Fatal(err)
			}
		})
	}
}

func asError(err error, target **slimtalua.Error) bool {
	e, ok := err.(*slimtalua.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestContextCancelStopsKernel(t *testing.T) {
	before := runtime.NumGoroutine()
	rt := slimtalua.New()
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rt.RunString(ctx, `
		require "ratchet"
		ratchet.new(function ()
			for i = 1, 100 do
				ratchet.thread.attach(function () ratchet.thread.timer(60) end)
			end
			ratchet.thread.attach(function () ratchet.thread.pause() end)
			ratchet.thread.timer(60)
		end):loop()
	`, "cancel")
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
	waitGoroutines(t, before)
}

func TestGoroutinesReleased(t *testing.T) {
	before := runtime.NumGoroutine()
	rt := slimtalua.New()
	defer rt.Close()
	err := rt.RunString(context.Background(), `
		require "ratchet"
		local k = ratchet.new(function ()
			for i = 1, 10000 do
				ratchet.thread.attach(function () ratchet.thread.timer(0.001) end)
			end
		end)
		k:loop()
		assert(k:get_num_threads() == 0)
	`, "leak")
	require.NoError(t, err)
	waitGoroutines(t, before)
}

func TestIndependentRuntimes(t *testing.T) {
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			rt := slimtalua.New()
			defer rt.Close()
			errs <- rt.RunString(context.Background(), `
				require "ratchet"
				local n = 0
				ratchet.new(function ()
					for i = 1, 200 do
						ratchet.thread.attach(function () ratchet.thread.timer(0.001); n = n + 1 end)
					end
				end):loop()
				assert(n == 200)
			`, "indep")
		}()
	}
	for i := 0; i < 4; i++ {
		require.NoError(t, <-errs)
	}
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	kernel.ReleaseIdleWorkers()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), want+2, "goroutines leaked")
}

func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int64
			for _, f := range strings.Fields(line)[1:2] {
				for _, c := range f {
					kb = kb*10 + int64(c-'0')
				}
			}
			return kb * 1024
		}
	}
	return 0
}
