// Package redistest runs throw-away redis-server processes for tests: on
// a free loopback port, in a temporary directory, without persistence
// unless asked for. Tests skip when redis-server is not installed (Debian
// package redis-server).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Port   int
	Dir    string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// NoPersistence are the default extra arguments: nothing written to disk.
var NoPersistence = []string{"--save", "", "--appendonly", "no"}

// AppendFsyncAlways makes every acknowledged write durable (AOF fsync per
// write): what a restart test needs to expect no acknowledged loss.
var AppendFsyncAlways = []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}

// Available reports whether redis-server can be run.
func Available() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Start launches redis-server (skipping t if it is missing) and stops it
// when t ends. extra defaults to NoPersistence.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if !Available() {
		t.Skip("redis-server not installed (Debian package redis-server)")
	}
	if extra == nil {
		extra = NoPersistence
	}
	s := &Server{Dir: t.TempDir(), args: extra}
	if err := s.start(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartMain is Start for TestMain (no testing.TB): the caller stops it.
func StartMain(dir string, extra ...string) (*Server, error) {
	if extra == nil {
		extra = NoPersistence
	}
	s := &Server{Dir: dir, args: extra}
	return s, s.start(0)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(port int) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		p := port
		if p == 0 {
			if p, err = freePort(); err != nil {
				return err
			}
		}
		args := append([]string{
			"--port", strconv.Itoa(p), "--bind", "127.0.0.1",
			"--dir", s.Dir, "--daemonize", "no", "--databases", "64",
			"--logfile", filepath.Join(s.Dir, "redis.log"),
		}, s.args...)
		cmd := exec.Command("redis-server", args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err = cmd.Start(); err != nil {
			return err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if err = waitUp(p, exited); err == nil {
			s.Port, s.cmd, s.exited = p, cmd, exited
			return nil
		}
		_ = cmd.Process.Kill()
		<-exited
		if port != 0 {
			// A fixed port (restart): retry the same one a little later.
			time.Sleep(200 * time.Millisecond)
		}
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	return fmt.Errorf("redis-server did not start: %v\n%s", err, log)
}

func waitUp(port int, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited")
		default:
		}
		if Ping(port) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on port %d not answering", port)
}

// Ping sends PING with a raw connection and expects +PONG.
func Ping(port int) error {
	_, err := Command(port, "PING")
	return err
}

// Command sends one command over a fresh connection and returns the first
// reply line (without CRLF).
func Command(port int, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return line, fmt.Errorf("redis: %s", line[1:])
	}
	return line, nil
}

// FlushAll empties every database.
func (s *Server) FlushAll() error {
	_, err := Command(s.Port, "FLUSHALL")
	return err
}

// Kill stops the server with SIGKILL (no shutdown save).
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Stop terminates the server.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart starts the server again on the same port and directory.
func (s *Server) Restart() error {
	s.Kill()
	return s.start(s.Port)
}
