package native_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// newState opens a Lua state with every slimta module preloaded.
func newState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	slimta.Preload(L)
	// Lua 5.2 names the test scripts may use even on a plain 5.1 state.
	require.NoError(t, L.DoString(`
		table.unpack = table.unpack or unpack
		package.path = ""
	`))
	return L
}

func runScript(t *testing.T, L *lua.LState, path string) {
	t.Helper()
	require.NoError(t, L.DoFile(path), "script %s", path)
}

// TestLuaScripts runs one Lua test script per module (testdata/*.lua). Each
// script asserts on its own; a failing assert fails the subtest.
func TestLuaScripts(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join("testdata", "*.lua"))
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, path := range scripts {
		t.Run(filepath.Base(path), func(t *testing.T) {
			runScript(t, newState(t), path)
		})
	}
}

// TestScriptFromEnv runs an arbitrary script (SLIMTA_LUA_SCRIPT=path), a
// convenience for trying things out against the real module set.
func TestScriptFromEnv(t *testing.T) {
	path := os.Getenv("SLIMTA_LUA_SCRIPT")
	if path == "" {
		t.Skip("SLIMTA_LUA_SCRIPT not set")
	}
	runScript(t, newState(t), path)
}
