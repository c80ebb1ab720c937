// Package timerfd implements ratchet.timerfd (spec ratchet.md 2.8) on a
// real Linux timerfd registered with Go's netpoller, so read() suspends only
// the calling ratchet thread.
package timerfd

import (
	"encoding/binary"
	"math"
	"os"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/exec/pollfd"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

const metaKey = "ratchet.timerfd.meta"

// Timer is the Go value behind a timerfd object; it implements
// kernel.Waitable (readable = at least one expiration pending).
type Timer struct {
	p       *pollfd.File
	untrack func()
}

// Ready implements kernel.Waitable.
func (t *Timer) Ready(write bool) bool { return t.p.Ready(write) }

// WaitReady implements kernel.Waitable.
func (t *Timer) WaitReady(write bool, cancel <-chan struct{}) { t.p.WaitReady(write, cancel) }

// Close implements io.Closer (for kernel.Track).
func (t *Timer) Close() error {
	t.p.Close()
	return nil
}

// Open builds the ratchet.timerfd table.
func Open(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("new", L.NewFunction(timerNew))
	return t
}

func meta(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, metaKey, timerMethods)
}

var timerMethods = map[string]lua.LGFunction{
	"settime": timerSettime,
	"gettime": timerGettime,
	"read":    timerRead,
	"close":   timerClose,
	"get_fd":  timerGetFd,
}

func checkTimer(L *lua.LState, fname string) *Timer {
	return luaarg.CheckUserData[*Timer](L, 1, fname, "ratchet.timerfd object")
}

func timerNew(L *lua.LState) int {
	const fname = "ratchet.timerfd.new"
	clock := unix.CLOCK_MONOTONIC
	switch s := luaarg.OptString(L, 1, fname, "monotonic"); s {
	case "monotonic":
	case "realtime":
		clock = unix.CLOCK_REALTIME
	default:
		luaarg.ArgError(L, 1, fname, "invalid option '"+s+"'")
	}
	fd, err := unix.TimerfdCreate(clock, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.timerfd.new()", "timerfd_create", err)
	}
	// A non-blocking descriptor given to os.NewFile joins the netpoller.
	p, err := pollfd.New(os.NewFile(uintptr(fd), "timerfd"))
	if err != nil {
		unix.Close(fd)
		kernel.RaiseErrno(L, "ratchet.timerfd.new()", "timerfd_create", err)
	}
	t := &Timer{p: p}
	t.untrack = kernel.Track(L, t)
	ud := L.NewUserData()
	ud.Value = t
	L.SetMetatable(ud, meta(L))
	L.Push(ud)
	return 1
}

// toTimespec converts seconds (negative or nil: zero) into a timespec.
func toTimespec(secs float64) unix.Timespec {
	if secs <= 0 || math.IsNaN(secs) {
		return unix.Timespec{}
	}
	whole := math.Floor(secs)
	nsec := math.Round((secs - whole) * 1e9)
	if nsec >= 1e9 {
		whole++
		nsec -= 1e9
	}
	return unix.Timespec{Sec: int64(whole), Nsec: int64(nsec)}
}

func seconds(ts unix.Timespec) lua.LNumber {
	return lua.LNumber(float64(ts.Sec) + float64(ts.Nsec)/1e9)
}

func optSeconds(L *lua.LState, n int, fname string) float64 {
	if L.Get(n) == lua.LNil {
		return -1
	}
	return luaarg.CheckNumber(L, n, fname)
}

func timerSettime(L *lua.LState) int {
	const fname = "ratchet.timerfd.settime"
	t := checkTimer(L, fname)
	first := optSeconds(L, 2, fname)
	interval := optSeconds(L, 3, fname)
	flags := 0
	switch s := luaarg.OptString(L, 4, fname, "relative"); s {
	case "relative":
	case "absolute":
		flags = unix.TFD_TIMER_ABSTIME
	default:
		luaarg.ArgError(L, 4, fname, "invalid option '"+s+"'")
	}
	spec := unix.ItimerSpec{Value: toTimespec(first), Interval: toTimespec(interval)}
	if first < 0 {
		spec = unix.ItimerSpec{} // disarm
	}
	var old unix.ItimerSpec
	err := t.p.Control(func(fd int) error { return unix.TimerfdSettime(fd, flags, &spec, &old) })
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.timerfd.settime()", "timerfd_settime", err)
	}
	L.Push(seconds(old.Value))
	L.Push(seconds(old.Interval))
	return 2
}

func timerGettime(L *lua.LState) int {
	t := checkTimer(L, "ratchet.timerfd.gettime")
	var cur unix.ItimerSpec
	err := t.p.Control(func(fd int) error { return unix.TimerfdGettime(fd, &cur) })
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.timerfd.gettime()", "timerfd_gettime", err)
	}
	L.Push(seconds(cur.Value))
	L.Push(seconds(cur.Interval))
	return 2
}

// timerRead returns the number of expirations since the last read,
// suspending the calling thread until there is at least one.
func timerRead(L *lua.LState) int {
	t := checkTimer(L, "ratchet.timerfd.read")
	var buf [8]byte
	for {
		n, err := t.p.TryRead(buf[:])
		if err == unix.EAGAIN {
			kernel.Block(L, func(cancel <-chan struct{}) { t.p.WaitReady(false, cancel) }, nil)
			continue
		}
		if err != nil {
			kernel.RaiseErrno(L, "ratchet.timerfd.read()", "read", err)
		}
		if n != 8 {
			kernel.RaiseErrno(L, "ratchet.timerfd.read()", "read", unix.EIO)
		}
		L.Push(lua.LNumber(binary.NativeEndian.Uint64(buf[:])))
		return 1
	}
}

func timerClose(L *lua.LState) int {
	t := checkTimer(L, "ratchet.timerfd.close")
	if !t.p.Close() {
		return 0
	}
	t.untrack()
	L.Push(lua.LTrue)
	return 1
}

func timerGetFd(L *lua.LState) int {
	t := checkTimer(L, "ratchet.timerfd.get_fd")
	L.Push(lua.LNumber(t.p.Fd()))
	return 1
}
