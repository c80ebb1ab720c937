// Package policytest runs the slimta.policies Lua tests, including the
// SpamAssassin policy against a real spamd started on a free port.
package policytest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/luatest"
	"github.com/stretchr/testify/require"
)

func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			luatest.Run(t, f, luatest.Options{})
		})
	}
}

// startSpamd runs spamd on a free loopback port (no network tests, no rule
// updates) and stops it when the test ends.
func startSpamd(t *testing.T) int {
	spamd := luatest.Program(t, "spamd", "spamd (bookworm) / spamassassin")
	port := luatest.FreePort(t)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "spamd.pid")
	cmd := exec.Command(spamd,
		fmt.Sprintf("--listen=127.0.0.1:%d", port),
		"-x", "--allowed-ips=127.0.0.1", "--pidfile="+pidfile,
		"--max-children=1", "--syslog=stderr", "--local")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "spamd.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
	})
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		// the pid file appears once spamd listens; probing the port would
		// cost a child
		if _, err := os.Stat(pidfile); err == nil {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				c.Close()
				return port
			}
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "spamd.log"))
	t.Skipf("spamd did not come up: %s", b)
	return 0
}

func TestSpamAssassin(t *testing.T) {
	port := startSpamd(t)
	luatest.Run(t, "testdata/spamassassin.lua", luatest.Options{
		Globals: map[string]any{"SPAMD_PORT": port},
		Timeout: 45 * time.Second,
	})
}
