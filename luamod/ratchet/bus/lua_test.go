package bus_test

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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestLuaScripts runs every testdata/test_*.lua script with a free PORT.
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			rt.State().SetGlobal("PORT", lua.LNumber(freePort(t)))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
