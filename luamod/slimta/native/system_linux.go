//go:build linux

package native

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
)

// daemonEnv marks a process re-executed by slimta.daemonize(); its value is
// the descriptor on which the child reports back to the waiting parent.
const daemonEnv = "SLIMTA_LUA_DAEMONIZE_FD"

func init() {
	// The inherited report pipe must not leak into processes the daemon
	// starts before reaching daemonize(): they would keep the parent waiting.
	if v, ok := os.LookupEnv(daemonEnv); ok {
		if fd, err := strconv.Atoi(v); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// redirectStdio is slimta.redirect_stdio([out] [, err] [, in]) (spec 2.1).
// Unlike the original it opens the file before replacing the descriptor,
// so a failed open leaves the stream intact (spec 6.54).
func redirectStdio(L *lua.LState) int {
	type target struct {
		arg   int
		fd    int
		flags int
	}
	targets := []target{
		{1, 1, syscall.O_WRONLY | syscall.O_CREAT | syscall.O_APPEND},
		{2, 2, syscall.O_WRONLY | syscall.O_CREAT | syscall.O_APPEND},
		{3, 0, syscall.O_RDONLY},
	}
	const fn = "slimta.redirect_stdio()"
	for _, t := range targets {
		if L.Get(t.arg) == lua.LNil {
			continue
		}
		path := checkStringStrict(L, t.arg)
		if err := reopenFD(path, t.fd, t.flags, 0o644); err != nil {
			var se *sysErr
			if errors.As(err, &se) {
				kernel.RaiseErrno(L, fn, se.call, se.err)
			}
			kernel.RaiseErrno(L, fn, "open", err)
		}
	}
	return 0
}

type sysErr struct {
	call string
	err  error
}

func (e *sysErr) Error() string { return e.call + ": " + e.err.Error() }
func (e *sysErr) Unwrap() error { return e.err }

// reopenFD makes path occupy descriptor fd.
func reopenFD(path string, fd, flags int, mode uint32) error {
	nfd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, mode)
	if err != nil {
		return &sysErr{"open", err}
	}
	if nfd == fd {
		// fd was free (closed earlier); the descriptor must survive exec.
		_, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0)
		if e != 0 {
			return &sysErr{"fcntl", e}
		}
		return nil
	}
	defer syscall.Close(nfd)
	if err := syscall.Dup3(nfd, fd, 0); err != nil {
		return &sysErr{"dup2", err}
	}
	return nil
}

// daemonize is slimta.daemonize() (spec 2.1). A Go process cannot fork, so
// the detached process is a re-execution of the same program (/proc/self/exe
// with the same arguments) in a new session. The re-executed program runs
// the script again from the start; when it reaches daemonize() it finishes
// detaching (chdir /, umask 0, stdio on /dev/null) and returns its pid,
// while the original process exits with status 0 once the child got that
// far (or with the child's status if it ended before). Side effects made
// before daemonize() therefore happen twice; call it first.
func daemonize(L *lua.LState) int {
	const fn = "slimta.daemonize()"
	if v, ok := os.LookupEnv(daemonEnv); ok {
		os.Unsetenv(daemonEnv)
		report, _ := strconv.Atoi(v)
		_, _ = syscall.Setsid() // already a session leader: harmless failure
		if err := os.Chdir("/"); err != nil {
			kernel.RaiseErrno(L, fn, "chdir", err)
		}
		syscall.Umask(0)
		for _, t := range []struct{ fd, flags int }{
			{0, syscall.O_RDONLY}, {1, syscall.O_WRONLY}, {2, syscall.O_WRONLY},
		} {
			if err := reopenFD("/dev/null", t.fd, t.flags, 0); err != nil {
				var se *sysErr
				if errors.As(err, &se) {
					kernel.RaiseErrno(L, fn, se.call, se.err)
				}
			}
		}
		if report > 2 {
			_, _ = syscall.Write(report, []byte("ok"))
			_ = syscall.Close(report)
		}
		L.Push(lua.LNumber(os.Getpid()))
		return 1
	}

	r, w, err := os.Pipe()
	if err != nil {
		kernel.RaiseErrno(L, fn, "pipe", err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = os.Args
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		kernel.RaiseErrno(L, fn, "fork", err)
	}
	w.Close()
	buf, _ := io.ReadAll(r)
	r.Close()
	if string(buf) == "ok" {
		// Like the original's parents: leave at once, no Lua finalisers.
		os.Exit(0)
	}
	status := 1
	if err := cmd.Wait(); err == nil {
		status = 0
	} else if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
		status = ee.ExitCode()
	}
	os.Exit(status)
	return 0
}

// dropPrivileges is slimta.drop_privileges(user, group) (spec 2.1). It also
// resets the supplementary groups when running as root and checks that
// root cannot be regained (spec 6.53).
func dropPrivileges(L *lua.LState) int {
	const fn = "slimta.drop_privileges()"
	uid, u := lookupID(L, 1, "user")
	gid, _ := lookupID(L, 2, "group")
	if os.Geteuid() == 0 {
		if u == nil {
			u, _ = user.LookupId(strconv.Itoa(uid)) // for its group list, if any
		}
		groups := []int{gid}
		if u != nil {
			if ids, err := u.GroupIds(); err == nil {
				for _, s := range ids {
					if g, err := strconv.Atoi(s); err == nil && g != gid {
						groups = append(groups, g)
					}
				}
			}
		}
		if err := syscall.Setgroups(groups); err != nil {
			kernel.RaiseErrno(L, fn, "setgroups", err)
		}
	}
	if err := syscall.Setgid(gid); err != nil {
		kernel.RaiseErrno(L, fn, "setgid", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		kernel.RaiseErrno(L, fn, "setuid", err)
	}
	if uid != 0 && syscall.Setuid(0) == nil {
		kernel.Raise(L, kernel.Error{Description: "Root privileges could be regained.", Function: fn})
	}
	return 0
}

// lookupID resolves argument n, a numeric id or a user/group name. For a
// user name it also returns the passwd entry (for its group list).
func lookupID(L *lua.LState, n int, kind string) (int, *user.User) {
	const fn = "slimta.drop_privileges()"
	var name string
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return int(v), nil
	case lua.LString:
		name = string(v)
	default:
		L.TypeError(n, lua.LTString)
	}
	if id, err := strconv.Atoi(name); err == nil {
		return id, nil
	}
	if kind == "user" {
		u, err := user.Lookup(name)
		if err != nil {
			kernel.Raise(L, kernel.Error{Description: "Unknown user: " + name, Function: fn, Syscall: "getpwnam"})
		}
		id, err := strconv.Atoi(u.Uid)
		if err != nil {
			kernel.Raise(L, kernel.Error{Description: "Non-numeric uid for user: " + name, Function: fn})
		}
		return id, u
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		kernel.Raise(L, kernel.Error{Description: "Unknown group: " + name, Function: fn, Syscall: "getgrnam"})
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		kernel.Raise(L, kernel.Error{Description: "Non-numeric gid for group: " + name, Function: fn})
	}
	return id, nil
}
