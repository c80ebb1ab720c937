package native_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/compat"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// newState opens a Lua state with every slimta module preloaded. With
// withCompat the Lua 5.2 compatibility layer is installed as in the real
// runtime; without it the modules must still work on plain gopher-lua.
func newState(t testing.TB, withCompat bool) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	if withCompat {
		compat.Open(L, compat.Options{})
	}
	slimta.Preload(L)
	require.NoError(t, L.DoString(`
		table.unpack = table.unpack or unpack
		package.path = "" -- only preloaded modules
	`))
	return L
}

var variants = []struct {
	name   string
	compat bool
}{{"lua51", false}, {"compat", true}}

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
		for _, v := range variants {
			t.Run(filepath.Base(path)+"/"+v.name, func(t *testing.T) {
				runScript(t, newState(t, v.compat), path)
			})
		}
	}
}

// TestScriptFromEnv runs an arbitrary script (SLIMTA_LUA_SCRIPT=path), a
// convenience for trying things out against the real module set.
func TestScriptFromEnv(t *testing.T) {
	path := os.Getenv("SLIMTA_LUA_SCRIPT")
	if path == "" {
		t.Skip("SLIMTA_LUA_SCRIPT not set")
	}
	runScript(t, newState(t, os.Getenv("SLIMTA_LUA_COMPAT") != ""), path)
}
