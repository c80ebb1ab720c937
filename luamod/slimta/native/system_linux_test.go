//go:build linux

package native_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// ---- signalfd ----

// signalState prepares a state with `sfd` reading SIGUSR1/SIGUSR2 (both
// blocked) and a kill(name) function that signals this process. The
// cleanup drains pending signals before unblocking them, because an
// unblocked pending SIGUSR1 would terminate the test binary.
func signalState(t *testing.T) *lua.LState {
	L := newState(t, true)
	L.SetGlobal("kill", L.NewFunction(func(L *lua.LState) int {
		sig := map[string]syscall.Signal{"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2}[L.CheckString(1)]
		require.NoError(t, syscall.Kill(os.Getpid(), sig))
		return 0
	}))
	L.SetGlobal("readable", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(fdReadable(t, L.CheckInt(1), 0)))
		return 1
	}))
	require.NoError(t, L.DoString(`
		signalfd = require "slimta.signalfd"
		usr = signalfd.mask({"SIGUSR1", "SIGUSR2"})
		old_mask = signalfd.sigprocmask("block", usr)
		sfd = signalfd.new()
		assert(sfd:get_fd() == -1)
		sfd:setmask(usr)
		assert(sfd:get_fd() >= 0)
	`))
	t.Cleanup(func() {
		_ = L.DoString(`
			sfd:set_timeout(0.2)
			while pcall(sfd.read, sfd) do end
			signalfd.sigprocmask("setmask", old_mask)
			sfd:close()
		`)
	})
	return L
}

func fdReadable(t *testing.T, fd int, timeout time.Duration) bool {
	for {
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.NsecToTimeval(timeout.Nanoseconds())
		n, err := syscall.Select(fd+1, &set, nil, nil, &tv)
		if err == syscall.EINTR {
			continue // the Go runtime's preemption signal (SIGURG)
		}
		require.NoError(t, err)
		return n > 0
	}
}

func TestSignalfdRead(t *testing.T) {
	L := signalState(t)
	require.NoError(t, L.DoString(`
		assert(not readable(sfd:get_fd()))
		kill("SIGUSR2")
		kill("SIGUSR1")
		kill("SIGUSR1") -- standard signals do not queue
	`))
	// Wait until both are pending, then the lowest number comes first.
	require.Eventually(t, func() bool {
		require.NoError(t, L.DoString(`n = 0 if readable(sfd:get_fd()) then n = 1 end`))
		return L.GetGlobal("n").String() == "1"
	}, 5*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, L.DoString(`
		local name, pid = sfd:read()
		assert(name == "SIGUSR1", name)
		assert(pid == nil)
		assert(sfd:read() == "SIGUSR2")
		assert(not readable(sfd:get_fd()))
		sfd:set_timeout(0.05)
		assert(sfd:get_timeout() == 0.05)
		local ok, err = pcall(sfd.read, sfd)
		assert(not ok and err.code == "ETIMEDOUT", tostring(err))
		assert(err.description == "Timed out waiting for signals.")
	`))
}

func TestSignalfdBlocksOnlyItsThread(t *testing.T) {
	L := signalState(t)
	L.SetGlobal("attach", L.NewFunction(func(L *lua.LState) int {
		kernel.Attach(L, L.CheckFunction(1), nil)
		return 0
	}))
	L.SetGlobal("send_later", L.NewFunction(func(L *lua.LState) int {
		go func() {
			time.Sleep(100 * time.Millisecond)
			_ = syscall.Kill(os.Getpid(), syscall.SIGUSR2)
		}()
		return 0
	}))
	require.NoError(t, L.DoString(`
		events = {}
		entry = function()
			attach(function()
				events[#events + 1] = "reading"
				local name = sfd:read()
				events[#events + 1] = name
			end)
			attach(function()
				events[#events + 1] = "other thread ran"
				send_later()
			end)
		end
	`))
	k := kernel.New(L, L.GetGlobal("entry"), lua.LNil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.Loop(L)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("kernel loop did not finish")
	}
	require.NoError(t, L.DoString(`
		assert(table.concat(events, ",") == "reading,other thread ran,SIGUSR2", table.concat(events, ","))
	`))
}

func TestSignalfdAPI(t *testing.T) {
	L := signalState(t)
	require.NoError(t, L.DoString(`
		local ok, err = pcall(signalfd.mask, {"SIGUSR1", "SIGBOGUS"})
		assert(not ok and err == "Invalid signal name: SIGBOGUS", err)
		-- iteration stops at the first nil
		assert(signalfd.mask({"SIGUSR1", nil, "SIGBOGUS"}))
		assert(not pcall(signalfd.sigprocmask, "sideways", usr))
		-- the documented one-argument form blocks; the result is the old set
		local prev = signalfd.sigprocmask(usr)
		local prev2 = signalfd.sigprocmask("SIG_BLOCK", signalfd.mask({}))
		assert(type(prev) == "userdata" and type(prev2) == "userdata")
		-- every accepted name
		signalfd.mask({"SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGABRT", "SIGFPE", "SIGSEGV",
			"SIGPIPE", "SIGALRM", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGCONT",
			"SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGKILL", "SIGSTOP"})
		-- close is idempotent; reading a closed object raises EBADF
		local other = signalfd.new()
		other:setmask(usr)
		other:close()
		other:close()
		assert(other:get_fd() == -1)
		ok, err = pcall(other.read, other)
		assert(not ok and err.code == "EBADF")
		ok, err = pcall(signalfd.new().read, signalfd.new())
		assert(not ok and err.code == "EBADF")
	`))
}

// ---- process helpers, run in child processes ----

// helperMode runs the body of a subprocess test when the test binary was
// started by runHelper; it reports whether it did.
func helperMode(t *testing.T, name string, body func(t *testing.T)) bool {
	if os.Getenv("SLIMTA_NATIVE_HELPER") != name {
		return false
	}
	body(t)
	return true
}

func runHelper(t *testing.T, test, name string, env ...string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), append(env, "SLIMTA_NATIVE_HELPER="+name)...)
	return cmd.CombinedOutput()
}

func TestRedirectStdio(t *testing.T) {
	if helperMode(t, "redirect", func(t *testing.T) {
		L := newState(t, true)
		dir := os.Getenv("SLIMTA_TEST_DIR")
		L.SetGlobal("dir", lua.LString(dir))
		require.NoError(t, L.DoString(`
			require "slimta"
			slimta.redirect_stdio(dir .. "/out.log", dir .. "/err.log", dir .. "/in.txt")
			io.stdout:write("to stdout\n")
			io.stdout:flush()
			io.stderr:write("to stderr\n")
			local line = io.stdin:read("*l")
			io.stdout:write("read: ", line, "\n")
			io.stdout:flush()
			-- nil arguments leave streams alone
			slimta.redirect_stdio(nil, nil, nil)
			io.stdout:write("still out\n")
			io.stdout:flush()
		`))
	}) {
		return
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.txt"), []byte("hello\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "out.log"), []byte("old\n"), 0o644))
	out, err := runHelper(t, "TestRedirectStdio", "redirect", "SLIMTA_TEST_DIR="+dir)
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(filepath.Join(dir, "out.log"))
	require.NoError(t, err)
	// appended, not truncated
	assert.True(t, strings.HasPrefix(string(got), "old\nto stdout\nread: hello\nstill out\n"), "%q", got)
	got, err = os.ReadFile(filepath.Join(dir, "err.log"))
	require.NoError(t, err)
	assert.Equal(t, "to stderr\n", string(got))
	st, err := os.Stat(filepath.Join(dir, "err.log"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm()&^umask())
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func TestDaemonize(t *testing.T) {
	if helperMode(t, "daemonize", func(t *testing.T) {
		L := newState(t, true)
		require.NoError(t, L.DoString(`require "slimta"; pid = slimta.daemonize()`))
		// Only the detached process gets here; the original exited.
		wd, _ := os.Getwd()
		sid, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
		stdout, _ := os.Readlink("/proc/self/fd/1")
		mask := syscall.Umask(0)
		report := strings.Join([]string{
			L.GetGlobal("pid").String(), strconv.Itoa(os.Getpid()), wd,
			strconv.Itoa(int(sid)), stdout, strconv.Itoa(mask),
			strconv.FormatBool(os.Getenv("SLIMTA_LUA_DAEMONIZE_FD") == ""),
		}, "|")
		tmp := os.Getenv("SLIMTA_TEST_OUT") + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte(report), 0o644))
		require.NoError(t, os.Rename(tmp, os.Getenv("SLIMTA_TEST_OUT")))
	}) {
		return
	}
	outFile := filepath.Join(t.TempDir(), "report")
	start := time.Now()
	out, err := runHelper(t, "TestDaemonize", "daemonize", "SLIMTA_TEST_OUT="+outFile)
	require.NoError(t, err, "%s", out)
	// The original process printed nothing from the test framework: it
	// left with status 0 inside daemonize().
	assert.NotContains(t, string(out), "PASS")
	var report []byte
	require.Eventually(t, func() bool {
		report, err = os.ReadFile(outFile)
		return err == nil
	}, 20*time.Second, 20*time.Millisecond)
	f := strings.Split(string(report), "|")
	require.Len(t, f, 7, "%s", report)
	assert.Equal(t, f[1], f[0], "daemonize returns the daemon's pid")
	assert.Equal(t, "/", f[2])
	assert.Equal(t, f[1], f[3], "the daemon leads its own session")
	assert.Equal(t, "/dev/null", f[4])
	assert.Equal(t, "0", f[5])
	assert.Equal(t, "true", f[6], "the marker is consumed")
	t.Logf("daemonized in %v", time.Since(start))
}

func TestDropPrivileges(t *testing.T) {
	if helperMode(t, "drop", func(t *testing.T) {
		L := newState(t, true)
		L.SetGlobal("user", lua.LString(os.Getenv("SLIMTA_TEST_USER")))
		L.SetGlobal("group", lua.LString(os.Getenv("SLIMTA_TEST_GROUP")))
		require.NoError(t, L.DoString(`require "slimta"; slimta.drop_privileges(user, group)`))
		groups, err := syscall.Getgroups()
		require.NoError(t, err)
		os.Stdout.WriteString("ids:" + strconv.Itoa(syscall.Getuid()) + ":" + strconv.Itoa(syscall.Geteuid()) +
			":" + strconv.Itoa(syscall.Getgid()) + ":" + strconv.Itoa(len(groups)) + "\n")
	}) {
		return
	}
	if os.Geteuid() != 0 {
		// Unprivileged: dropping to the current ids must work.
		out, err := runHelper(t, "TestDropPrivileges", "drop",
			"SLIMTA_TEST_USER="+strconv.Itoa(os.Getuid()), "SLIMTA_TEST_GROUP="+strconv.Itoa(os.Getgid()))
		require.NoError(t, err, "%s", out)
		return
	}
	out, err := runHelper(t, "TestDropPrivileges", "drop", "SLIMTA_TEST_USER=nobody", "SLIMTA_TEST_GROUP=65534")
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "ids:65534:65534:65534:1\n")
}
