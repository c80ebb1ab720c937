package e2e_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
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

	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
)

var (
	binary   string // the slimta-lua CLI built for these tests
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "slimta-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if b := os.Getenv("E2E_SLIMTA_LUA"); b != "" {
		// Test an already built interpreter instead.
		binary = b
		return m.Run()
	}
	binary = filepath.Join(dir, "slimta-lua")
	build := exec.Command("go", "build", "-o", binary, "./cmd/slimta-lua")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building slimta-lua:", err)
		return 1
	}
	return m.Run()
}

// syncBuffer collects a child's output for inspection while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running Lua script.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	errb   *syncBuffer
	port   int
	done   chan struct{}
	status error
}

// startScript runs `slimta-lua scripts/<name> args...` from the repository
// root; when port > 0 it waits until an SMTP greeting (or, with http set,
// a TCP accept) arrives there.
func startScript(t *testing.T, name string, port int, http bool, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{filepath.Join("scripts", name)}, args...)...)
	cmd.Dir = repoRoot
	p := &proc{cmd: cmd, out: &syncBuffer{}, errb: &syncBuffer{}, port: port, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.status = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 5*time.Second)
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", name, p.out.String(), p.errb.String())
		}
	})
	if port > 0 {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		ok := false
		if http {
			ok = waitTCP(addr, 10*time.Second, p.done)
		} else {
			ok = peers.WaitListen(addr, 10*time.Second)
		}
		if !ok {
			p.stop(syscall.SIGKILL, time.Second)
			t.Fatalf("%s did not start on %s\nstdout:\n%s\nstderr:\n%s", name, addr, p.out.String(), p.errb.String())
		}
	}
	return p
}

func waitTCP(addr string, timeout time.Duration, done chan struct{}) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// stop signals the process group and waits; SIGKILL after the grace time.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-p.done:
		return p.status
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return p.status
}

// waitOutput waits until the script's stdout contains every string.
func (p *proc) waitOutput(t *testing.T, timeout time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := p.out.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s\nstderr:\n%s", missing, out, p.errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logLines returns the stdout lines whose second field is event.
func (p *proc) logLines(event string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(p.out.String()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 1 && f[1] == event {
			out = append(out, sc.Text())
		}
	}
	return out
}

// swaks sends one message; it returns swaks' output. The test is skipped
// when swaks is missing.
func swaks(t *testing.T, port int, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed (Debian package swaks)")
	}
	all := append([]string{"--server", "127.0.0.1", "--port", strconv.Itoa(port), "--helo", "e2e.test",
		"--timeout", "20"}, args...)
	cmd := exec.Command(path, all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("swaks %v: %v\n%s", all, err, out.String())
	}
	return out.String()
}

func mustRead(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
