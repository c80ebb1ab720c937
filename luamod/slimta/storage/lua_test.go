package storage_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/slimta"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/redistest"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// redisSrv is shared by the package's tests (nil without redis-server).
var redisSrv *redistest.Server

func TestMain(m *testing.M) {
	code := func() int {
		// Child processes of TestSurvivesRestart use the parent's server.
		if redistest.Available() && os.Getenv(restartEnv) == "" {
			dir, err := os.MkdirTemp("", "slimta-redis-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			srv, err := redistest.StartMain(dir)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer srv.Stop()
			redisSrv = srv
		}
		return m.Run()
	}()
	os.Exit(code)
}

var engines = []string{"memory", "disk", "redis"}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runScript runs one test script with the engine globals set.
func runScript(t *testing.T, path, engine string) {
	t.Helper()
	if engine == "redis" {
		if redisSrv == nil {
			t.Skip("redis-server not installed (Debian package redis-server)")
		}
		require.NoError(t, redisSrv.FlushAll())
	}
	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	slimta.PreloadStorage(L)
	abs, err := filepath.Abs("testdata")
	require.NoError(t, err)
	L.SetGlobal("TESTDATA", lua.LString(abs))
	L.SetGlobal("ENGINE", lua.LString(engine))
	L.SetGlobal("DISK_DIR", lua.LString(t.TempDir()))
	if redisSrv != nil {
		L.SetGlobal("REDIS_PORT", lua.LNumber(redisSrv.Port))
	}
	L.SetGlobal("SMTP_PORT", lua.LNumber(freePort(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rt.RunFile(ctx, path); err != nil {
		var le *slimtalua.Error
		if errors.As(err, &le) {
			t.Fatalf("%s\n%s", le.Message, le.Traceback)
		}
		t.Fatal(err)
	}
}

// TestEngineScripts runs testdata/test_*.lua once per engine.
func TestEngineScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		for _, engine := range engines {
			t.Run(name+"/"+engine, func(t *testing.T) { runScript(t, f, engine) })
		}
	}
}

// TestOnceScripts runs the engine-independent testdata/once_*.lua.
func TestOnceScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/once_*.lua")
	require.NoError(t, err)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) { runScript(t, f, "memory") })
	}
}
