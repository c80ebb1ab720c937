package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/luatest"
	"github.com/stretchr/testify/require"
)

// Helpers of the slimta suite (slimta_test.go). Names carry a slimta
// prefix: the ratchet suite shares this package.

// slimtaScriptTimeout bounds one slimta test script. The originals use 2 s
// socket timeouts; the slowest finishes in about a second.
const slimtaScriptTimeout = 45 * time.Second

var (
	slimtaBuildOnce sync.Once
	slimtaCLIPath   string
	slimtaBuildErr  error

	slimtaCertOnce sync.Once
	slimtaCertPEM  []byte
	slimtaCertErr  error
)

// slimtaCLI builds cmd/slimta-lua once per test binary, into its own
// temporary directory (not the ratchet suite's).
func slimtaCLI(t testing.TB) string {
	t.Helper()
	slimtaBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slimta-conformance-cli-")
		if err != nil {
			slimtaBuildErr = err
			return
		}
		slimtaCLIPath = filepath.Join(dir, "slimta-lua")
		cmd := exec.Command("go", "build", "-o", slimtaCLIPath, "./cmd/slimta-lua")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			slimtaBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if slimtaBuildErr != nil {
		t.Fatal(slimtaBuildErr)
	}
	return slimtaCLIPath
}

// slimtaCert returns a cert.pem like the original test/cert.pem: a
// self-signed CN=localhost certificate and its unencrypted key in one file,
// made with "openssl req -x509 -nodes" when openssl is installed (2048-bit
// instead of the original's 1024, spec 4.1), else generated in Go.
func slimtaCert(t testing.TB) []byte {
	t.Helper()
	slimtaCertOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slimta-conformance-cert-")
		if err != nil {
			slimtaCertErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "cert.pem")
		if openssl, err := exec.LookPath("openssl"); err == nil {
			cmd := exec.Command(openssl, "req", "-x509", "-nodes", "-newkey", "rsa:2048",
				"-subj", "/CN=localhost", "-days", "2", "-keyout", path, "-out", path)
			if out, err := cmd.CombinedOutput(); err != nil {
				slimtaCertErr = fmt.Errorf("openssl req: %v\n%s", err, out)
				return
			}
		} else {
			path = luatest.WriteCert(t, dir)
		}
		slimtaCertPEM, slimtaCertErr = os.ReadFile(path)
	})
	if slimtaCertErr != nil {
		t.Fatal(slimtaCertErr)
	}
	return slimtaCertPEM
}

// slimtaWorkdir makes a directory like the original test/ directory: a copy
// of every .lua file of src (scripts require their helpers as "./x.lua")
// plus cert.pem.
func slimtaWorkdir(t testing.TB, src ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range src {
		files, err := filepath.Glob(filepath.Join(s, "*.lua"))
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), slimtaCert(t), 0o600))
	return dir
}

// slimtaResult is the outcome of one slimta-lua process.
type slimtaResult struct {
	Exit           int // -1 when killed or not started
	Stdout, Stderr string
	TimedOut       bool
	Err            error
}

func (r slimtaResult) String() string {
	s := fmt.Sprintf("exit status %d", r.Exit)
	if r.TimedOut {
		s = "timed out"
	}
	if r.Err != nil {
		s += fmt.Sprintf(" (%v)", r.Err)
	}
	return s + "\n--- stderr ---\n" + r.Stderr + "\n--- stdout ---\n" + r.Stdout
}

// slimtaEnv is the environment of a script: the test's environment without
// Lua and test variables, LUA_PATH as in the original harness, then extra.
func slimtaEnv(extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LUA_") && !strings.HasPrefix(kv, "SLIMTA_TEST_") {
			env = append(env, kv)
		}
	}
	env = append(env, `LUA_PATH=./?.lua;./?/init.lua;;`)
	return append(env, extra...)
}

// slimtaRun runs "slimta-lua script args..." in dir and waits for it.
func slimtaRun(t testing.TB, dir, script string, env []string, timeout time.Duration, args ...string) slimtaResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, slimtaCLI(t), append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var outb, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &errb
	err := cmd.Run()
	r := slimtaResult{Exit: -1, Stdout: outb.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.TimedOut = true
	case err == nil:
		r.Exit = 0
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	default:
		r.Err = err
	}
	return r
}

// slimtaPort returns a loopback TCP port that was free a moment ago.
func slimtaPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// slimtaWaitPort waits until something accepts connections on port, or
// until done is closed (the server exited) or the deadline passes.
func slimtaWaitPort(port int, done <-chan struct{}, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		select {
		case <-done:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// slimtaProgram returns the path of an external program or "" when it is
// not installed.
func slimtaProgram(name string) string {
	for _, p := range []string{name, "/usr/sbin/" + name, "/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// slimtaDaemon is an external server started for a test (redis-server,
// spamd), stopped when the test ends.
type slimtaDaemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
	mu   sync.Mutex
}

func (d *slimtaDaemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.Write(p)
}

func (d *slimtaDaemon) Log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// slimtaStartDaemon starts argv in its own process group and stops the
// group (SIGTERM, then SIGKILL) when t ends.
func slimtaStartDaemon(t testing.TB, dir string, argv ...string) *slimtaDaemon {
	t.Helper()
	d := &slimtaDaemon{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{}), log: &bytes.Buffer{}}
	d.cmd.Dir = dir
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd.Stdout, d.cmd.Stderr = d, d
	require.NoError(t, d.cmd.Start())
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
	})
	return d
}

// slimtaRedis starts a private redis-server on a free loopback port (no
// persistence) and returns the port; skips when redis-server is missing.
func slimtaRedis(t testing.TB) int {
	t.Helper()
	prog := slimtaProgram("redis-server")
	if prog == "" {
		t.Skip("redis-server not installed (Debian package redis-server)")
	}
	for attempt := 0; attempt < 3; attempt++ {
		port := slimtaPort(t)
		dir := t.TempDir()
		d := slimtaStartDaemon(t, dir, prog, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir)
		if slimtaWaitPort(port, d.done, 10*time.Second) {
			return port
		}
		t.Logf("redis-server on port %d did not start: %s", port, d.Log())
	}
	t.Fatal("redis-server did not start")
	return 0
}

// slimtaSpamd starts spamd on a free loopback port (local tests only, no
// rule updates) and returns the port; 0 when spamd is missing or does not
// come up (the script then exits 77, like the original without spamd).
func slimtaSpamd(t testing.TB) int {
	t.Helper()
	prog := slimtaProgram("spamd")
	if prog == "" {
		return 0
	}
	port := slimtaPort(t)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "spamd.pid")
	d := slimtaStartDaemon(t, dir, prog, fmt.Sprintf("--listen=127.0.0.1:%d", port),
		"-x", "--allowed-ips=127.0.0.1", "--pidfile="+pidfile, "--max-children=1",
		"--syslog=stderr", "--local")
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		// spamd writes its pid file once it listens; probing the port
		// earlier would cost it a child
		if _, err := os.Stat(pidfile); err == nil && slimtaWaitPort(port, d.done, time.Second) {
			return port
		}
		select {
		case <-d.done:
			t.Logf("spamd exited: %s", d.Log())
			return 0
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("spamd did not come up: %s", d.Log())
	return 0
}

// slimtaSMTPSend delivers one small message to 127.0.0.1:port and returns
// the reply to the end of data ("" and an error if the dialogue broke
// before it).
func slimtaSMTPSend(port int, from, to string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	tp := textproto.NewConn(conn)
	read := func(want int) (string, error) {
		code, msg, err := tp.ReadResponse(want)
		if err != nil {
			return fmt.Sprintf("%d %s", code, msg), err
		}
		return fmt.Sprintf("%d %s", code, msg), nil
	}
	steps := []struct {
		cmd  string
		want int
	}{
		{"", 220}, {"EHLO conformance.test", 250}, {"MAIL FROM:<" + from + ">", 250},
		{"RCPT TO:<" + to + ">", 250}, {"DATA", 354},
		{"Subject: conformance\r\n\r\nhello\r\n.", 0},
	}
	for _, s := range steps {
		if s.cmd != "" {
			if err := tp.PrintfLine("%s", s.cmd); err != nil {
				return "", err
			}
		}
		reply, err := read(s.want)
		if s.want == 0 {
			_ = tp.PrintfLine("QUIT")
			return reply, nil
		}
		if err != nil {
			return reply, fmt.Errorf("%q: %w", s.cmd, err)
		}
	}
	return "", errors.New("unreachable")
}
