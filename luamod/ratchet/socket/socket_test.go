package socket_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// TestMain doubles as the client helper process of the idle-connection
// test and benchmark (clients live in another process so that the server
// process alone holds one descriptor per connection).
func TestMain(m *testing.M) {
	if addr := os.Getenv("RATCHET_SOCKET_TEST_CLIENTS"); addr != "" {
		os.Exit(clientHelper(addr))
	}
	os.Exit(m.Run())
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// expectedSndbuf is what this kernel reports after SO_SNDBUF = 1024.
func expectedSndbuf(t testing.TB) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1024))
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	require.NoError(t, err)
	return v
}

func luaErr(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var le *slimtalua.Error
	if errors.As(err, &le) {
		t.Fatalf("%s\n%s", le.Message, le.Traceback)
	}
	t.Fatal(err)
}

func newRuntime(t testing.TB, globals map[string]lua.LValue) *slimtalua.Runtime {
	rt := slimtalua.New()
	t.Cleanup(rt.Close)
	for k, v := range globals {
		rt.State().SetGlobal(k, v)
	}
	return rt
}

// TestLuaScripts runs every testdata/*.lua script (ports of the original
// socket tests plus extras); each raises on failure.
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sndbuf := expectedSndbuf(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := newRuntime(t, map[string]lua.LValue{
				"PORT":            lua.LNumber(freePort(t)),
				"SOCK_PATH":       lua.LString(filepath.Join(t.TempDir(), "ratchet-tests.sock")),
				"EXPECTED_SNDBUF": lua.LNumber(sndbuf),
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			luaErr(t, rt.RunFile(ctx, f))
		})
	}
}

// runCapture runs src inside a kernel thread; src must call report(err)
// with the error it caught. It returns the reported value's fields.
func runCapture(t *testing.T, src string, globals map[string]lua.LValue) map[string]string {
	t.Helper()
	rt := newRuntime(t, globals)
	got := map[string]string{}
	reported := false
	rt.Register("report", func(L *lua.LState) int {
		reported = true
		v := L.Get(1)
		if s, ok := v.(lua.LString); ok {
			got["string"] = string(s)
			return 0
		}
		if tbl, ok := v.(*lua.LTable); ok {
			tbl.ForEach(func(k, v lua.LValue) {
				got[k.String()] = v.String()
			})
		}
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	luaErr(t, rt.RunString(ctx, `
		require "ratchet"
		S = ratchet.socket
		ratchet.new(function ()
			local ok, err = pcall(function () `+src+` end)
			assert(not ok, "expected an error")
			report(err)
		end):loop()
	`, "capture"))
	require.True(t, reported)
	return got
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular-file")
	require.NoError(t, os.WriteFile(regular, []byte("keep me"), 0o644))
	cases := []struct {
		name string
		src  string
		want map[string]string
	}{
		{"connection refused", `
			local r = S.prepare_tcp("127.0.0.1", PORT)
			local s = S.new(r.family, r.socktype, r.protocol)
			s:connect(r.addr)`,
			map[string]string{"code": "ECONNREFUSED", "function": "ratchet.socket.connect()", "syscall": "connect", "errno": strconv.Itoa(int(unix.ECONNREFUSED))}},
		{"recv timeout", `
			local a, b = S.new_pair()
			a:set_timeout(0.05)
			a:recv()`,
			map[string]string{"code": "ETIMEDOUT", "description": "Timed out on recv.", "function": "ratchet.socket.recv()"}},
		{"accept timeout zero", `
			local r = S.prepare_tcp("127.0.0.1", PORT)
			local s = S.new(r.family, r.socktype, r.protocol)
			s:bind(r.addr); s:listen(); s:set_timeout(0)
			s:accept()`,
			map[string]string{"code": "ETIMEDOUT", "description": "Timed out on accept."}},
		{"unknown host", `S.prepare_tcp("nonexistent.invalid", 25)`,
			map[string]string{"code": "ENOENT", "function": "ratchet.dns.query()", "description": "No DNS records: nonexistent.invalid has no A record"}},
		{"address in use", `
			local r = S.prepare_tcp("127.0.0.1", PORT)
			local s1 = S.new(r.family, r.socktype, r.protocol)
			s1:bind(r.addr); s1:listen()
			local s2 = S.new(r.family, r.socktype, r.protocol)
			s2:bind(r.addr)`,
			map[string]string{"code": "EADDRINUSE", "function": "ratchet.socket.bind()", "syscall": "bind"}},
		{"unix bind keeps regular files", `
			local r = S.prepare_unix(REGULAR)
			local s = S.new(r.family, r.socktype, r.protocol)
			s:bind(r.addr)`,
			map[string]string{"code": "EADDRINUSE"}},
		{"send on closed socket", `
			local a, b = S.new_pair()
			a:close()
			a:send("x")`,
			map[string]string{"code": "EBADF", "function": "ratchet.socket.send()"}},
		{"broken pipe", `
			local a, b = S.new_pair()
			b:close()
			a:send("x")`,
			map[string]string{"code": "EPIPE", "function": "ratchet.socket.send()"}},
		{"bad family", `S.new(12345)`,
			map[string]string{"code": "EAFNOSUPPORT", "function": "ratchet.socket.new()", "syscall": "socket"}},
		{"unknown setsockopt", `S.new():setsockopt("SO_NOPE", true)`,
			map[string]string{"string": "unknown socket option: SO_NOPE"}},
		{"check_errors", `
			local r = S.prepare_tcp("127.0.0.1", PORT)
			local s = S.new(r.family, r.socktype, r.protocol)
			pcall(s.connect, s, r.addr)
			s:check_errors()
			error("no pending error")`,
			nil}, // checked below: either ECONNREFUSED or nothing left pending
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runCapture(t, tc.src, map[string]lua.LValue{
				"PORT":    lua.LNumber(freePort(t)),
				"REGULAR": lua.LString(regular),
			})
			if tc.want == nil {
				return
			}
			if s, ok := tc.want["string"]; ok {
				require.Contains(t, got["string"], s)
				return
			}
			require.Equal(t, "ratchet_error", got["type"], "%v", got)
			for k, v := range tc.want {
				require.Equal(t, v, got[k], "field %s of %v", k, got)
			}
		})
	}
	data, err := os.ReadFile(regular)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(data))
}

// TestSendToStalledPeer: a peer that stops reading blocks only the
// sending thread, which then times out.
func TestSendToStalledPeer(t *testing.T) {
	rt := newRuntime(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	luaErr(t, rt.RunString(ctx, `
		require "ratchet"
		local ticks, timedout, sent = 0, false, 0
		ratchet.new(function ()
			local a, b = ratchet.socket.new_pair()
			local ticker = ratchet.thread.attach(function ()
				while not timedout do
					ticks = ticks + 1
					ratchet.thread.timer(0.005)
				end
			end)
			a:set_timeout(0.2)
			local chunk = string.rep("x", 65536)
			local ok, err = pcall(function ()
				while true do
					local rest = chunk
					repeat rest = a:send(rest) until not rest
					sent = sent + #chunk
				end
			end)
			timedout = true
			assert(not ok and ratchet.error.is(err, "ETIMEDOUT"), tostring(err))
			assert(err.description == "Timed out on send.")
			ratchet.thread.wait_all({ticker})
			assert(sent > 0)
			assert(ticks >= 10, "other threads must run while send waits: " .. ticks)
			-- the Go API too
			b:close()
		end):loop()
	`, "stalled"))
}

// TestKillBlockedRecv kills a thread blocked in recv and checks that its
// goroutine is gone and the loop ends.
func TestKillBlockedRecv(t *testing.T) {
	rt := newRuntime(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	luaErr(t, rt.RunString(ctx, `
		require "ratchet"
		local k = ratchet.new(function ()
			local a, b = ratchet.socket.new_pair()
			local victims = {}
			for i = 1, 50 do
				victims[i] = ratchet.thread.attach(function () a:recv(); error("not reached") end)
			end
			ratchet.thread.timer(0.01)
			ratchet.thread.kill_all(victims)
			b:send("x")
			assert(a:recv() == "x")
		end)
		k:loop()
		assert(k:get_num_threads() == 0)
	`, "kill"))
}

// TestContextCancelClosesSockets: cancelling the runtime's context stops a
// thread blocked in accept and closes the listener.
func TestContextCancelClosesSockets(t *testing.T) {
	port := freePort(t)
	rt := newRuntime(t, map[string]lua.LValue{"PORT": lua.LNumber(port)})
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan struct{})
	rt.Register("listening", func(*lua.LState) int { close(listening); return 0 })
	errc := make(chan error, 1)
	go func() {
		errc <- rt.RunString(ctx, `
			require "ratchet"
			ratchet.new(function ()
				local r = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
				local s = ratchet.socket.new(r.family, r.socktype, r.protocol)
				s:setsockopt("SO_REUSEADDR", true)
				s:bind(r.addr); s:listen()
				listening()
				s:accept()
			end):loop()
		`, "cancel")
	}()
	<-listening
	// Let the thread park in accept: a cancel that lands while Lua code
	// runs is raised by gopher-lua inside the thread instead.
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not stop")
	}
	// The listener is closed: connecting fails.
	_, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	require.Error(t, err)
}

// TestGoAPI drives a socket from a native function the way protocol
// engines do: Check, Recv, Send, Push, timeouts, Waitable.
func TestGoAPI(t *testing.T) {
	rt := newRuntime(t, nil)
	L := rt.State()
	rt.Register("echo_line", func(L *lua.LState) int {
		s := socket.Check(L, 1, "echo_line")
		buf := make([]byte, 3)
		var line []byte
		for !strings.HasSuffix(string(line), "\n") {
			n := s.Recv(L, buf)
			if n == 0 {
				break
			}
			line = append(line, buf[:n]...)
		}
		s.Send(L, []byte(strings.ToUpper(string(line))))
		socket.Push(L, s)
		return 1
	})
	rt.Register("props", func(L *lua.LState) int {
		s := socket.Check(L, 1, "props")
		v, ok := socket.FromValue(L.Get(1))
		require.True(t, ok)
		require.Same(t, s, v)
		require.False(t, s.Encrypted())
		require.Equal(t, 250*time.Millisecond, s.Timeout())
		require.NotNil(t, s.Waitable())
		var _ kernel.Waitable = s
		require.NoError(t, s.SetNoDelay(true))
		require.Equal(t, "127.0.0.1", s.PeerAddr().(*net.TCPAddr).IP.String())
		return 0
	})
	_ = L
	port := freePort(t)
	rt.State().SetGlobal("PORT", lua.LNumber(port))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	luaErr(t, rt.RunString(ctx, `
		require "ratchet"
		ratchet.new(function ()
			local r = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
			local srv = ratchet.socket.new(r.family, r.socktype, r.protocol)
			srv:setsockopt("SO_REUSEADDR", true)
			srv:bind(r.addr); srv:listen()
			ratchet.thread.attach(function ()
				local c = ratchet.socket.new(r.family, r.socktype, r.protocol)
				c:connect(r.addr)
				c:send("hello ")
				ratchet.thread.timer(0.01)
				c:send("world\n")
				assert(c:recv() == "HELLO WORLD\n")
				c:close()
			end)
			local c = srv:accept()
			c:set_timeout(0.25)
			props(c)
			assert(echo_line(c) == c)
			local ok, err = pcall(echo_line, c) -- peer closed: EOF, empty echo
			assert(ok, tostring(err))
			local ok2, err2 = pcall(echo_line, "nope")
			assert(not ok2 and err2:match("ratchet socket expected"))
		end):loop()
	`, "goapi"))
}

// TestSeedSnippet runs the server-socket snippet of the slimta page
// verbatim (port 25 on all addresses).
func TestSeedSnippet(t *testing.T) {
	rt := newRuntime(t, nil)
	err := rt.RunString(context.Background(), `
   require "ratchet"
   local rec = ratchet.socket.prepare_tcp("0.0.0.0", 25)
   local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
   socket:setsockopt("SO_REUSEADDR", true)
   socket:bind(rec.addr)
   socket:listen()
   socket:close()
`, "seed")
	var le *slimtalua.Error
	if errors.As(err, &le) && (strings.Contains(le.Message, "in use") || strings.Contains(le.Message, "permission denied")) {
		t.Skipf("port 25 not available here: %s", le.Message)
	}
	luaErr(t, err)
}

// ---- idle connections ----

// clientHelper opens N connections to addr, prints "ready", and keeps
// them open until stdin closes.
func clientHelper(addr string) int {
	n, _ := strconv.Atoi(os.Getenv("RATCHET_SOCKET_TEST_N"))
	raiseNoFile()
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		var c net.Conn
		var err error
		for try := 0; try < 50; try++ {
			c, err = net.Dial("tcp", addr)
			if err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		_ = c.Close()
	}
	return 0
}

func raiseNoFile() uint64 {
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &r)
	}
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &r)
	return r.Cur
}

// idleClients starts the helper process with n connections to port.
type idleClients struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
}

func startIdleClients(t testing.TB, port, n int) *idleClients {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("RATCHET_SOCKET_TEST_CLIENTS=127.0.0.1:%d", port),
		fmt.Sprintf("RATCHET_SOCKET_TEST_N=%d", n))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	return &idleClients{cmd: cmd, stdin: stdin}
}

func (c *idleClients) stop() {
	_ = c.stdin.Close()
	_ = c.cmd.Wait()
}

// idleServer is the Lua server of the idle tests: one thread per
// connection blocked in recv, echoing until EOF.
const idleServer = `
	require "ratchet"
	ratchet.new(function ()
		local r = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
		local srv = ratchet.socket.new(r.family, r.socktype, r.protocol)
		srv:setsockopt("SO_REUSEADDR", true)
		srv:bind(r.addr)
		srv:listen()
		listening()
		local open = 0
		for i = 1, N do
			local c = srv:accept()
			open = open + 1
			ratchet.thread.attach(function ()
				while true do
					local d = c:recv()
					if d == "" then break end
					c:send(d)
				end
				c:close()
				open = open - 1
			end)
		end
		accepted()
		srv:close()
	end):loop()
`

// TestManyIdleConnections holds 10,000 connections, each with its thread
// blocked in recv, in one process.
func TestManyIdleConnections(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	if lim := raiseNoFile(); lim < uint64(n)+200 {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d connections", lim, n)
	}
	port := freePort(t)
	rt := newRuntime(t, map[string]lua.LValue{"PORT": lua.LNumber(port), "N": lua.LNumber(n)})
	listening := make(chan struct{})
	accepted := make(chan struct{})
	rt.Register("listening", func(*lua.LState) int { close(listening); return 0 })
	rt.Register("accepted", func(*lua.LState) int { close(accepted); return 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- rt.RunString(ctx, idleServer, "idle") }()
	<-listening
	clients := startIdleClients(t, port, n)
	select {
	case <-accepted:
	case err := <-errc:
		clients.stop()
		luaErr(t, err)
		t.Fatal("server ended early")
	}
	clients.stop() // every thread then sees EOF and ends
	select {
	case err := <-errc:
		luaErr(t, err)
	case <-ctx.Done():
		t.Fatal("server did not finish")
	}
}

// TestMainThreadIO: socket calls made from main (outside any kernel) wait
// synchronously, timeouts included.
func TestMainThreadIO(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err == nil {
			time.Sleep(50 * time.Millisecond) // the Lua side waits for the reply
			_, _ = c.Write(buf)
		}
		time.Sleep(time.Second)
	}()
	rt := newRuntime(t, map[string]lua.LValue{"PORT": lua.LNumber(l.Addr().(*net.TCPAddr).Port)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	luaErr(t, rt.RunString(ctx, `
		require "ratchet"
		local r = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
		local s = ratchet.socket.new(r.family, r.socktype, r.protocol)
		s:connect(r.addr)
		s:send("hello")
		assert(s:recv() == "hello")
		s:set_timeout(0.05)
		local ok, err = pcall(s.recv, s)
		assert(not ok and ratchet.error.is(err, "ETIMEDOUT"), tostring(err))
		s:close()
	`, "main"))
}

// TestGarbageCollectedSocketIsClosed: tracking a socket for context
// cancellation does not keep it alive; an unreferenced socket's
// descriptor is closed by the garbage collector.
func TestGarbageCollectedSocketIsClosed(t *testing.T) {
	rt := newRuntime(t, nil)
	fd := func() int {
		s, err := socket.NewSocket(rt.State(), unix.AF_INET, unix.SOCK_STREAM, 0)
		require.NoError(t, err)
		return s.FD()
	}()
	marker := fmt.Sprintf("socket:[")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if err != nil || !strings.HasPrefix(link, marker) {
			return // closed (or the number already reused by something else)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("descriptor %d still open", fd)
}
