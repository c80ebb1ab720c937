// Package edgetest tests slimta.edge.smtp, slimta.edge.smtp.auth and
// slimta.edge.http: Lua scripts in testdata (run through slimtalua) and
// end-to-end runs with swaks and curl.
package edgetest

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/luatest"
	"github.com/stretchr/testify/require"
)

var (
	certOnce sync.Once
	certPath string
)

// certFile returns a self-signed CN=localhost certificate+key PEM shared by
// the tests of this package.
func certFile(t *testing.T) string {
	certOnce.Do(func() {
		dir, err := tempDir()
		require.NoError(t, err)
		certPath = luatest.WriteCert(t, dir)
	})
	return certPath
}

func globals(t *testing.T) map[string]any {
	abs, err := filepath.Abs("testdata")
	require.NoError(t, err)
	return map[string]any{"TESTDATA": abs, "CERT_FILE": certFile(t)}
}

// TestLuaScripts runs every testdata/test_*.lua script.
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			luatest.Run(t, f, luatest.Options{Globals: globals(t)})
		})
	}
}
