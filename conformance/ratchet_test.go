// Package conformance runs Lua scripts written for the original libraries
// through the real slimta-lua command. This file holds the ratchet suite:
// testdata/ratchet/*.lua run the way the original "make check" ran them
// through the lua interpreter: one process per script, a working directory
// holding cert.pem, LUA_PATH="./?.lua;./?/init.lua;;", exit status 0 means
// pass. Ports come from RATCHET_TEST_* variables so runs can overlap.
package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ratchetScriptTimeout bounds one script; the slowest original test (5 s timer)
// stays far below it.
const ratchetScriptTimeout = 60 * time.Second

var (
	ratchetPortsMu   sync.Mutex
	ratchetPortsUsed = map[int]bool{}

	ratchetCertOnce sync.Once
	ratchetCertPEM  []byte
	ratchetCertErr  error
)

// ratchetCLI builds cmd/slimta-lua into t's temporary directory (the Go
// build cache makes repeated builds cheap), so nothing is left behind.
func ratchetCLI(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "slimta-lua")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/slimta-lua")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	return path
}

// ratchetCert returns the contents of cert.pem: a self-signed CN=localhost RSA
// certificate and its unencrypted key in one file. openssl makes it exactly
// as the original Makefile did; without openssl Go makes an equivalent one.
func ratchetCert(t *testing.T) []byte {
	t.Helper()
	ratchetCertOnce.Do(func() {
		if _, err := exec.LookPath("openssl"); err == nil {
			dir, err := os.MkdirTemp("", "conformance-cert-")
			if err != nil {
				ratchetCertErr = err
				return
			}
			defer os.RemoveAll(dir)
			cmd := exec.Command("openssl", "req", "-x509", "-nodes", "-subj", "/CN=localhost",
				"-newkey", "rsa:1024", "-keyout", "cert.pem", "-out", "cert.pem")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				ratchetCertErr = fmt.Errorf("openssl req: %v\n%s", err, out)
				return
			}
			ratchetCertPEM, ratchetCertErr = os.ReadFile(filepath.Join(dir, "cert.pem"))
			return
		}
		ratchetCertPEM, ratchetCertErr = ratchetGoCert()
	})
	require.NoError(t, ratchetCertErr)
	return ratchetCertPEM
}

func ratchetGoCert() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

// ratchetFreePort returns a TCP port that was free a moment ago, on the
// IPv4 and IPv6 wildcards (the original tests bind both). It is taken below
// the kernel's ephemeral range (32768-60999 on Linux), so that client
// sockets of concurrent tests cannot be sitting on it, and never twice.
func ratchetFreePort(t *testing.T) int {
	t.Helper()
	ratchetPortsMu.Lock()
	defer ratchetPortsMu.Unlock()
	for i := 0; i < 200; i++ {
		port := 20000 + mrand.IntN(12000)
		if ratchetPortsUsed[port] {
			continue
		}
		l, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
		if err != nil {
			continue
		}
		l6, err6 := net.Listen("tcp6", fmt.Sprintf("[::]:%d", port))
		l.Close()
		if err6 == nil {
			l6.Close()
		} else if strings.Contains(err6.Error(), "address already in use") {
			continue
		}
		ratchetPortsUsed[port] = true
		return port
	}
	t.Fatal("no free port found")
	return 0
}

// ratchetNeeds lists the programs a script needs beyond the CLI; the
// script is skipped when one is missing.
var ratchetNeeds = map[string][]string{
	"test_exec.lua":          {"echo", "cat"},
	"example_exec.lua":       {"tr"},
	"check_exec_more.lua":    {"cat", "sh", "sleep"},
	"check_thread_edges.lua": {"sh"},
	"check_kill_blocked.lua": {"sleep"},
	"check_coercion.lua":     {"sleep", "echo"},
}

// ratchetKnownBugs are scripts that fail because of a bug in code this suite's
// owner may not change (the SMTP/HTTP/bus engines). They run every time:
// a failure is reported as a skip naming the bug, a pass means the bug was
// fixed and the entry must go.
var ratchetKnownBugs = map[string]string{}

// ratchetSndbuf is what this kernel reads back after SO_SNDBUF=1024.
// test_sockopt expects 2048 (Linux doubles the value); newer kernels clamp
// to a higher minimum (spec 3.3), so the harness passes the real value in
// RATCHET_TEST_SNDBUF: the script then checks that slimta-lua passes the
// option through unchanged instead of failing on the environment.
func ratchetSndbuf(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 1024))
	v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	require.NoError(t, err)
	return v
}

// ratchetHarness is what one run of the original "make check" shared between its
// scripts: a working directory holding cert.pem and the ports.
type ratchetHarness struct {
	cli                   string
	dir                   string
	port, port2, httpPort int
}

func newRatchetHarness(t *testing.T, cli string) ratchetHarness {
	t.Helper()
	h := ratchetHarness{cli: cli, dir: t.TempDir(), port: ratchetFreePort(t), port2: ratchetFreePort(t), httpPort: ratchetFreePort(t)}
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "cert.pem"), ratchetCert(t), 0o600))
	return h
}

// run runs script with the ratchetHarness's working directory and ports.
func (h ratchetHarness) run(t *testing.T, script string, extraEnv ...string) (stdout, stderr string, err error) {
	t.Helper()
	// A script inside the working directory is named relative to it, as
	// make check did; others by absolute path.
	abs := script
	if _, err := os.Stat(filepath.Join(h.dir, script)); filepath.IsAbs(script) || err != nil {
		var aerr error
		abs, aerr = filepath.Abs(script)
		require.NoError(t, aerr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ratchetScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.cli, abs)
	cmd.Dir = h.dir
	cmd.WaitDelay = 5 * time.Second
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LUA_") && !strings.HasPrefix(kv, "RATCHET_TEST_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		`LUA_PATH=./?.lua;./?/init.lua;;`,
		"RATCHET_TEST_PORT="+strconv.Itoa(h.port),
		"RATCHET_TEST_PORT2="+strconv.Itoa(h.port2),
		"RATCHET_TEST_HTTP_PORT="+strconv.Itoa(h.httpPort),
		"RATCHET_TEST_UNIX_SOCK="+filepath.Join(h.dir, "ratchet-tests.sock"),
		"RATCHET_TEST_CERT=cert.pem",
		"RATCHET_TEST_SNDBUF="+strconv.Itoa(ratchetSndbuf(t)),
	)
	cmd.Env = append(env, extraEnv...)
	var outb, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", ratchetScriptTimeout, err)
	}
	return outb.String(), errb.String(), err
}

// ratchetSkipReason tells why a script cannot be judged here, or "".
func ratchetSkipReason(name string) string {
	for _, prog := range ratchetNeeds[name] {
		if _, err := exec.LookPath(prog); err != nil {
			return prog + " not installed (Debian packages coreutils, dash)"
		}
	}
	return ""
}

// TestRatchetScripts runs every testdata/ratchet/*.lua script; a script
// passes when slimta-lua exits with status 0.
func TestRatchetScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/ratchet/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	cli := ratchetCLI(t)
	ratchetCert(t)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".lua"), func(t *testing.T) {
			t.Parallel()
			if why := ratchetSkipReason(name); why != "" {
				t.Skip(why)
			}
			stdout, stderr, err := newRatchetHarness(t, cli).run(t, f)
			if bug, ok := ratchetKnownBugs[name]; ok {
				if err == nil {
					t.Fatalf("%s passes now: remove it from ratchetKnownBugs (%s)", name, bug)
				}
				t.Skipf("known bug: %s\n%s", bug, stderr)
			}
			if err != nil {
				t.Fatalf("%s failed: %v\n--- stderr ---\n%s\n--- stdout ---\n%s", name, err, stderr, stdout)
			}
			// A script may come with the exact output it must print.
			if want, err := os.ReadFile(strings.TrimSuffix(f, ".lua") + ".stdout"); err == nil {
				require.Equal(t, string(want), stdout, "stdout of %s", name)
			}
		})
	}
}

// TestOriginalSequence runs the original suite's scripts one after another
// in one working directory on the same ports, as "make check" did on 10025:
// listeners must be rebindable right after the previous process (and its
// TIME_WAIT connections) went away.
func TestOriginalSequence(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: reruns the original scripts sequentially")
	}
	files, err := filepath.Glob("testdata/ratchet/test_*.lua")
	require.NoError(t, err)
	h := newRatchetHarness(t, ratchetCLI(t))
	for _, f := range files {
		name := filepath.Base(f)
		if name == "test_5sec_timer.lua" || ratchetSkipReason(name) != "" || ratchetKnownBugs[name] != "" {
			continue
		}
		_, stderr, err := h.run(t, f)
		require.NoError(t, err, "%s\n%s", name, stderr)
	}
}

// TestScriptFailureIsReported guards the harness itself: a failing assert,
// an error escaping kernel:loop() and os.exit(1) must all give a non-zero
// status (or every other result above would be meaningless), worded on
// stderr the way lua.c 5.2 words them.
func TestScriptFailureIsReported(t *testing.T) {
	cases := []struct{ name, src, stderr string }{
		{"assert", `assert(false, "boom")`, "slimta-lua: fail.lua:1: boom"},
		{"thread error without handler", `require "ratchet"
kernel = ratchet.new(function () error("uh oh") end)
kernel:loop()`, "slimta-lua: fail.lua:2: uh oh"},
		{"assert in attached thread", `require "ratchet"
kernel = ratchet.new(function () ratchet.thread.attach(function () assert(1 == 2) end) end)
kernel:loop()`, "slimta-lua: fail.lua:2: assertion failed!"},
		{"os.exit(1) in handler", `require "ratchet"
kernel = ratchet.new(function () error("x") end, function (err, thread)
    print(debug.traceback(thread, tostring(err), 2))
    os.exit(1)
end)
kernel:loop()`, ""},
		{"ratchet error object", `require "ratchet"
error(ratchet.error.new("Went wrong.", "WRONG", "my.func()"))`, "slimta-lua: my.func(): Went wrong."},
		{"table without __tostring", `error({})`, "slimta-lua: (no error message)"},
		{"nil", `error()`, "slimta-lua: (error object is not a string)"},
		{"os.exit(false)", `os.exit(false)`, ""},
	}
	cli := ratchetCLI(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRatchetHarness(t, cli)
			require.NoError(t, os.WriteFile(filepath.Join(h.dir, "fail.lua"), []byte(tc.src), 0o644))
			_, stderr, err := h.run(t, "fail.lua")
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "want a non-zero exit, got %v", err)
			require.Equal(t, 1, ee.ExitCode())
			first, _, _ := strings.Cut(stderr, "\n")
			require.Equal(t, tc.stderr, first)
		})
	}
}
