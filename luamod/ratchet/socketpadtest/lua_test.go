// Package socketpadtest runs the Lua tests of the pure-Lua module
// ratchet.socketpad (luamod/ratchet/lua/ratchet/socketpad).
package socketpadtest_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestLuaScripts runs every testdata/*.lua script with the global PORT set
// to a free TCP port.
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			rt.State().SetGlobal("PORT", lua.LNumber(freePort(t)))
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
