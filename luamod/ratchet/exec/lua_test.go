package exec_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// TestLuaScripts runs every testdata/*.lua script; each asserts its own
// expectations and fails by raising.
func TestLuaScripts(t *testing.T) {
	for _, prog := range []string{"echo", "cat", "sh", "sleep", "true", "ls"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s not in PATH (coreutils)", prog)
		}
	}
	files, err := filepath.Glob("testdata/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rt.RunFile(ctx, f); err != nil {
				if le, ok := err.(*slimtalua.Error); ok {
					t.Fatalf("%s\n%s", le.Message, le.Traceback)
				}
				t.Fatal(err)
			}
		})
	}
}

// Cancelling the embedding context ends a thread blocked on a child and
// kills the child.
func TestCancelKillsChild(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("sleep not in PATH (coreutils)")
	}
	rt := slimtalua.New()
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rt.RunString(ctx, `
		require "ratchet"
		ratchet.new(function ()
			local p = ratchet.exec.new({"sleep", "30"})
			PID = p:start()
			ratchet.thread.attach(function () p:stdout():read() end)
			p:wait()
		end):loop()
	`, "cancel")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 10*time.Second)
	pid := int(lua.LVAsNumber(rt.State().GetGlobal("PID")))
	require.Greater(t, pid, 0)
	// Killed and reaped: the pid no longer exists.
	require.Eventually(t, func() bool {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}, 5*time.Second, 10*time.Millisecond)
}
