package conformance

// The slimta conformance suite: Lua scripts written the way the original
// slimta test suite (spec slimta.md 4) and examples (spec 5) were, run
// through the real slimta-lua command like "make check" ran them through
// lua: one process per script, working directory = a copy of the test
// directory with cert.pem, LUA_PATH="./?.lua;./?/init.lua;;", exit status 0
// = pass, 77 = skip. The fixed ports of the originals (10025, 8025, 2525)
// come from SLIMTA_TEST_*_PORT variables instead, so runs can overlap.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const slimtaSkipStatus = 77

// slimtaScriptEnv gives a script its own free ports.
func slimtaScriptEnv(t *testing.T, extra ...string) []string {
	return slimtaEnv(append([]string{
		"SLIMTA_TEST_BUS_PORT=" + strconv.Itoa(slimtaPort(t)),
		"SLIMTA_TEST_HTTP_PORT=" + strconv.Itoa(slimtaPort(t)),
		"SLIMTA_TEST_SMTP_PORT=" + strconv.Itoa(slimtaPort(t)),
	}, extra...)...)
}

// slimtaRunDir runs every test_*.lua of dir as a parallel subtest; setup
// may add environment variables for a script (or skip it).
func slimtaRunDir(t *testing.T, dir string, setup func(t *testing.T, name string) []string) {
	files, err := filepath.Glob(filepath.Join(dir, "test_*.lua"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	slimtaCLI(t)
	slimtaCert(t)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".lua"), func(t *testing.T) {
			t.Parallel()
			var extra []string
			if setup != nil {
				extra = setup(t, name)
			}
			work := slimtaWorkdir(t, dir)
			r := slimtaRun(t, work, name, slimtaScriptEnv(t, extra...), slimtaScriptTimeout)
			if r.Exit == slimtaSkipStatus {
				t.Skipf("%s exited 77 (skip): %s", name, r.Stderr)
			}
			if r.Exit != 0 {
				t.Fatalf("%s failed: %s", name, r)
			}
		})
	}
}

// TestSlimtaOriginalSuite runs the 28 scripts of the original suite
// (spec 4.2). test_spamassassin gets a private spamd when one is installed
// and skips (exit 77) otherwise, as in the original.
func TestSlimtaOriginalSuite(t *testing.T) {
	slimtaRunDir(t, "testdata/slimta/tests", func(t *testing.T, name string) []string {
		if name == "test_spamassassin.lua" {
			if port := slimtaSpamd(t); port != 0 {
				return []string{"SLIMTA_TEST_SPAMD_PORT=" + strconv.Itoa(port)}
			}
			// nothing listens there: the script must skip
			return []string{"SLIMTA_TEST_SPAMD_PORT=" + strconv.Itoa(slimtaPort(t))}
		}
		return nil
	})
}

// TestSlimtaRedisSuite runs the queue scripts again on Redis storage, and
// checks the Redis schema of spec 3.4, each against a private redis-server.
func TestSlimtaRedisSuite(t *testing.T) {
	slimtaRunDir(t, "testdata/slimta/redis", func(t *testing.T, name string) []string {
		return []string{"SLIMTA_TEST_REDIS_PORT=" + strconv.Itoa(slimtaRedis(t))}
	})
}

// TestSlimtaCompat runs scripts that probe finer points an old script may
// rely on: module loading (spec 0.1), wire texts and formats (spec 3).
func TestSlimtaCompat(t *testing.T) {
	slimtaRunDir(t, "testdata/slimta/compat", nil)
}

// TestSlimtaHarness guards the harness itself: a failing assert must
// give a non-zero exit status, os.exit(77) must come through.
func TestSlimtaHarness(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("fail.lua", `require "slimta"; assert(slimta.version == "nope")`)
	write("thread_fail.lua", `require "ratchet"; ratchet.new(function () error("boom") end):loop()`)
	write("skip.lua", `os.exit(77)`)
	write("pass.lua", `require "slimta"; require "slimta.message"; assert(slimta.message)`)
	for name, want := range map[string]int{"fail.lua": 1, "thread_fail.lua": 1, "skip.lua": 77, "pass.lua": 0} {
		r := slimtaRun(t, dir, name, slimtaEnv(), slimtaScriptTimeout)
		require.Equal(t, want, r.Exit, "%s: %s", name, r)
	}
}
