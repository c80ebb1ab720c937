package conformance

// The slimta conformance suite: Lua scripts written the way the original
// slimta test suite (spec slimta.md 4) and examples (spec 5) were, run
// through the real slimta-lua command like "make check" ran them through
// lua: one process per script, working directory = a copy of the test
// directory with cert.pem, LUA_PATH="./?.lua;./?/init.lua;;", exit status 0
// = pass, 77 = skip. The fixed ports of the originals (10025, 8025, 2525)
// come from SLIMTA_TEST_*_PORT variables instead, so runs can overlap.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// slimtaPureLua makes a script run without the Go helpers of
// slimta.message.native, on the Lua implementations they stand in for.
const slimtaPureLua = `LUA_INIT=package.preload["slimta.message.native"] = nil`

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

// TestSlimtaPureLua runs the original suite and the compat scripts once
// more on the pure Lua message code (no slimta.message.native): both
// implementations must conform.
func TestSlimtaPureLua(t *testing.T) {
	pure := func(t *testing.T, name string) []string {
		if name == "test_spamassassin.lua" {
			t.Skip("covered by TestSlimtaOriginalSuite")
		}
		return []string{slimtaPureLua}
	}
	t.Run("tests", func(t *testing.T) { slimtaRunDir(t, "testdata/slimta/tests", pure) })
	t.Run("compat", func(t *testing.T) { slimtaRunDir(t, "testdata/slimta/compat", pure) })
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

// slimtaExample is one original example program (spec 5) and what running
// it as-is is expected to show. The corrected programs live in scripts/;
// these copies document which originals break and how.
type slimtaExample struct {
	file string
	args func(t *testing.T) []string
	// edit changes the program before it runs (to look past a first
	// failure); nil runs it verbatim
	edit func(src string) string
	// probe runs the example and returns what happened, in words
	probe func(t *testing.T, ex slimtaExample, work string, env []string) string
	want  string
}

// slimtaExampleWork copies the examples with the originals' fixed ports
// (2525 SMTP/HTTP edge, 8025 send_http's target) replaced by free ports.
func slimtaExampleWork(t *testing.T, edit func(string) string) (work string, port, httpPort int) {
	port, httpPort = slimtaPort(t), slimtaPort(t)
	work = slimtaWorkdir(t)
	files, err := filepath.Glob("testdata/slimta/examples/*.lua")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		src := strings.ReplaceAll(string(b), "2525", strconv.Itoa(port))
		src = strings.ReplaceAll(src, "8025", strconv.Itoa(httpPort))
		if edit != nil {
			src = edit(src)
		}
		require.NoError(t, os.WriteFile(filepath.Join(work, filepath.Base(f)), []byte(src), 0o644))
	}
	return work, port, httpPort
}

// slimtaStartupFailure runs an example that is expected to die at once and
// describes how it ended.
func slimtaStartupFailure(t *testing.T, ex slimtaExample, work string, env []string) string {
	var args []string
	if ex.args != nil {
		args = ex.args(t)
	}
	r := slimtaRun(t, work, ex.file, env, 15*time.Second, args...)
	t.Logf("%s: %s", ex.file, r)
	switch {
	case r.TimedOut:
		return "kept running"
	case r.Exit == 0:
		return "exit 0"
	case strings.Contains(r.Stderr, "ratchet.smtp.smtp_auth"):
		return "dies: require ratchet.smtp.smtp_auth"
	case strings.Contains(r.Stderr, "SO_REUSEADDR"):
		return "dies: socket.SO_REUSEADDR assignment"
	}
	return fmt.Sprintf("exit %d", r.Exit)
}

// slimtaServeAndSend starts an SMTP example, sends it one message and
// returns the reply to the end of data.
func slimtaServeAndSend(t *testing.T, ex slimtaExample, work string, env []string, port int) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, slimtaCLI(t), append([]string{ex.file}, ex.args(t)...)...)
	cmd.Dir, cmd.Env = work, env
	var outb, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &errb
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		cancel()
		<-done
		t.Logf("%s stdout:\n%s\nstderr:\n%s", ex.file, outb.String(), errb.String())
	}()
	if !slimtaWaitPort(port, done, 10*time.Second) {
		return "never listened"
	}
	reply, err := slimtaSMTPSend(port, "sender@example.com", "rcpt@localhost", 5*time.Second)
	if err != nil {
		return "SMTP dialogue failed: " + err.Error()
	}
	return "reply " + reply[:3]
}

func TestSlimtaExamples(t *testing.T) {
	memory := func(t *testing.T) []string { return []string{"memory"} }
	examples := []slimtaExample{
		{file: "full_mta.lua", args: memory, probe: slimtaStartupFailure,
			want: "dies: require ratchet.smtp.smtp_auth"},
		{file: "http_mta.lua", args: memory, probe: slimtaStartupFailure,
			want: "dies: require ratchet.smtp.smtp_auth"},
		// past the bogus require, the policy objects given to
		// slimta.bus.chain are not callable: every message is refused
		// with a 451 (the original left the client waiting forever)
		{file: "full_mta.lua", args: memory,
			edit: func(src string) string {
				return strings.Replace(src, `require "ratchet.smtp.smtp_auth"`, "", 1)
			},
			want: "reply 451"},
		{file: "proxy.lua", probe: slimtaStartupFailure,
			want: "dies: socket.SO_REUSEADDR assignment"},
		{file: "queue_only.lua", args: memory, probe: slimtaStartupFailure,
			want: "dies: socket.SO_REUSEADDR assignment"},
		// memory storage: a new process has an empty queue, so the tool
		// has nothing to do
		{file: "flush_queue.lua", args: memory, probe: func(t *testing.T, ex slimtaExample, work string, env []string) string {
			r := slimtaRun(t, work, ex.file, env, 15*time.Second, "memory")
			if r.Exit != 0 || r.Stdout != "" {
				return "unexpected: " + r.String()
			}
			return "exit 0, nothing flushed"
		}, want: "exit 0, nothing flushed"},
		{file: "flush_queue.lua", probe: slimtaFlushRedis,
			want: "message not delivered: [451]"},
		{file: "send_http.lua", probe: slimtaSendHTTP, want: "200 Message queued as abc"},
	}
	slimtaCLI(t)
	for i, ex := range examples {
		name := fmt.Sprintf("%d_%s", i, strings.TrimSuffix(ex.file, ".lua"))
		if ex.edit != nil {
			name += "_edited"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			work, port, httpPort := slimtaExampleWork(t, ex.edit)
			env := slimtaEnv("SLIMTA_TEST_HTTP_PORT=" + strconv.Itoa(httpPort))
			var got string
			if ex.probe != nil {
				got = ex.probe(t, ex, work, env)
			} else {
				got = slimtaServeAndSend(t, ex, work, env, port)
			}
			require.Equal(t, ex.want, got, "%s as shipped", ex.file)
		})
	}
}

// slimtaFlushRedis stores one message in a private Redis and runs the
// original flush_queue.lua on it.
func slimtaFlushRedis(t *testing.T, ex slimtaExample, work string, env []string) string {
	port := strconv.Itoa(slimtaRedis(t))
	store := `require "ratchet"
require "slimta.message"
require "slimta.storage.redis"
ratchet.new(function ()
    local session = slimta.storage.redis.new("127.0.0.1", tonumber(arg[1])):connect()
    local msg = slimta.message.new(
        slimta.message.client.new("SMTP", "test", "127.0.0.1", "none", "localhost"),
        slimta.message.envelope.new("sender@example.com", {"rcpt@localhost"}),
        slimta.message.contents.new("Subject: flush\r\n\r\nbody\r\n"), os.time())
    io.write(msg:store(session))
    session:close()
end):loop()
`
	require.NoError(t, os.WriteFile(filepath.Join(work, "store_one.lua"), []byte(store), 0o644))
	r := slimtaRun(t, work, "store_one.lua", env, 15*time.Second, port)
	require.Equal(t, 0, r.Exit, "%s", r)
	id := r.Stdout
	r = slimtaRun(t, work, ex.file, env, 20*time.Second, "redis", "127.0.0.1", port)
	t.Logf("%s: %s", ex.file, r)
	switch {
	case r.TimedOut:
		return "hangs"
	case strings.HasPrefix(r.Stdout, id+": [2"):
		return "delivered"
	case strings.HasPrefix(r.Stdout, id+": ["):
		return "message not delivered: " + r.Stdout[len(id)+2:len(id)+7]
	}
	return "unexpected: " + r.String()
}

// slimtaSendHTTP runs send_http.lua against a stand-in HTTP edge that
// checks the request and answers like the real one.
func slimtaSendHTTP(t *testing.T, ex slimtaExample, work string, env []string) string {
	port := 0
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SLIMTA_TEST_HTTP_PORT="); ok {
			port, _ = strconv.Atoi(v)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	defer l.Close()
	got := make(chan *http.Request, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		got <- req
		_, _ = c.Write([]byte("HTTP/1.0 200 Message queued as abc\r\nContent-Length: 3\r\n\r\nabc"))
	}()
	r := slimtaRun(t, work, ex.file, env, 15*time.Second, "alice@example.com", "bob@example.org")
	if r.Exit != 0 {
		return "failed: " + r.String()
	}
	select {
	case req := <-got:
		body, _ := io.ReadAll(req.Body)
		assert.Equal(t, "POST", req.Method)
		assert.Equal(t, "/email", req.URL.Path)
		assert.Equal(t, "alice@example.com", req.Header.Get("X-Sender"))
		assert.Equal(t, []string{"bob@example.org"}, req.Header.Values("X-Recipient"))
		assert.Equal(t, "message/rfc822", req.Header.Get("Content-Type"))
		assert.Contains(t, string(body), "Subject: test message")
	default:
		return "no request"
	}
	return strings.TrimSpace(r.Stdout)
}
