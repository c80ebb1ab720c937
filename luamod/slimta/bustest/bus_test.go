// Package bustest tests slimta.bus: local buses, chain, proxy, and the TCP
// bus (framing + XML documents) within one kernel and between two kernels.
package bustest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/luatest"
	"github.com/stretchr/testify/require"
)

func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			luatest.Run(t, f, luatest.Options{})
		})
	}
}

// TestTwoKernels: a TCP bus between two independent runtimes (two Lua
// states, two kernels), as between two slimta processes.
func TestTwoKernels(t *testing.T) {
	port := luatest.FreePort(t)
	const count = 20
	ready := make(chan string, 1)
	done := luatest.Background(t, "testdata/kernel_server.lua", luatest.Options{
		Globals: map[string]any{"PORT": port, "COUNT": count},
		Ready:   ready,
		Timeout: 30 * time.Second,
	})
	luatest.WaitReady(t, ready, done)
	luatest.Run(t, "testdata/kernel_client.lua", luatest.Options{
		Globals: map[string]any{"PORT": port, "COUNT": count},
	})
	luatest.Wait(t, done)
}
