//go:build linux

package native

import (
	"math/bits"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
)

// slimta.signalfd (spec 2.5).
//
// A real signalfd only sees signals that every thread has blocked, and the
// Go runtime owns signal handling on threads we do not control, so the
// module emulates it with os/signal: sigprocmask keeps a process-wide
// "blocked" set whose signals are caught instead of taking their default
// action and stay pending until a signalfd object reads them. Each signalfd
// object owns a pipe that is readable exactly while one of its signals is
// pending, so get_fd() still works with descriptor polling. os/signal does
// not report the sender, so read() always returns nil as the pid.

func init() {
	submodules = append(submodules, submodule{"signalfd", openSignalfd})
}

var signalNames = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGILL": syscall.SIGILL, "SIGABRT": syscall.SIGABRT, "SIGFPE": syscall.SIGFPE,
	"SIGSEGV": syscall.SIGSEGV, "SIGPIPE": syscall.SIGPIPE, "SIGALRM": syscall.SIGALRM,
	"SIGTERM": syscall.SIGTERM, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
	"SIGCHLD": syscall.SIGCHLD, "SIGCONT": syscall.SIGCONT, "SIGTSTP": syscall.SIGTSTP,
	"SIGTTIN": syscall.SIGTTIN, "SIGTTOU": syscall.SIGTTOU, "SIGKILL": syscall.SIGKILL,
	"SIGSTOP": syscall.SIGSTOP,
}

var signalByNumber = func() map[syscall.Signal]string {
	m := make(map[syscall.Signal]string, len(signalNames))
	for n, s := range signalNames {
		m[s] = n
	}
	return m
}()

// sigSet is a set of signal numbers (all standard signals are below 64).
type sigSet uint64

func sigBit(s syscall.Signal) sigSet { return 1 << uint(s) }

// uncatchable signals are silently left out of the blocked set, as
// sigprocmask does.
const uncatchable = sigSet(1<<uint(syscall.SIGKILL) | 1<<uint(syscall.SIGSTOP))

type sigHub struct {
	mu      sync.Mutex
	blocked sigSet
	pending sigSet
	chans   map[syscall.Signal]chan os.Signal
	cores   map[*sfdCore]struct{}
	changed chan struct{} // closed (and replaced) on every state change
}

var hub = &sigHub{
	chans:   map[syscall.Signal]chan os.Signal{},
	cores:   map[*sfdCore]struct{}{},
	changed: make(chan struct{}),
}

// broadcast wakes readers and updates every pipe; call with mu held.
func (h *sigHub) broadcast() {
	close(h.changed)
	h.changed = make(chan struct{})
	for c := range h.cores {
		c.refresh(h.pending)
	}
}

// setBlocked replaces the blocked set and returns the previous one.
func (h *sigHub) setBlocked(set sigSet) sigSet {
	set &^= uncatchable
	var deliver []syscall.Signal
	h.mu.Lock()
	old := h.blocked
	for s := syscall.Signal(1); s < 64; s++ {
		b := sigBit(s)
		switch {
		case set&b != 0 && old&b == 0:
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, s)
			h.chans[s] = ch
			go h.forward(s, ch)
		case set&b == 0 && old&b != 0:
			ch := h.chans[s]
			signal.Stop(ch)
			close(ch)
			delete(h.chans, s)
			if h.pending&b != 0 {
				h.pending &^= b
				deliver = append(deliver, s)
			}
		}
	}
	h.blocked = set
	h.broadcast()
	h.mu.Unlock()
	// A pending signal is delivered when it is unblocked (POSIX); with no
	// catcher left it now takes its default action.
	for _, s := range deliver {
		_ = syscall.Kill(os.Getpid(), s)
	}
	return old
}

func (h *sigHub) forward(s syscall.Signal, ch chan os.Signal) {
	for range ch {
		h.mu.Lock()
		if h.blocked&sigBit(s) != 0 {
			h.pending |= sigBit(s) // standard signals do not queue
			h.broadcast()
		}
		h.mu.Unlock()
	}
}

// sfdCore is the state shared with the hub; the Lua-visible handle holds
// it so the handle can be garbage collected while the hub references cores.
type sfdCore struct {
	mask     sigSet
	rfd, wfd int
	readable bool
	closed   bool
	timeout  float64 // seconds; negative = none
}

// refresh makes the pipe readable iff a signal of the mask is pending.
func (c *sfdCore) refresh(pending sigSet) {
	if c.rfd < 0 {
		return
	}
	want := pending&c.mask != 0
	if want && !c.readable {
		_, _ = syscall.Write(c.wfd, []byte{0})
		c.readable = true
	} else if !want && c.readable {
		var b [16]byte
		_, _ = syscall.Read(c.rfd, b[:])
		c.readable = false
	}
}

type sfdHandle struct{ core *sfdCore }

func (s *sfdHandle) close() {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	c := s.core
	if c.closed {
		return
	}
	c.closed = true
	delete(hub.cores, c)
	if c.rfd >= 0 {
		syscall.Close(c.rfd)
		syscall.Close(c.wfd)
		c.rfd, c.wfd = -1, -1
	}
	hub.broadcast()
}

const (
	sigMaskType = "slimta.signalfd.mask"
	sfdType     = "slimta.signalfd"
)

func openSignalfd(L *lua.LState) *lua.LTable {
	L.NewTypeMetatable(sigMaskType)
	mt := L.NewTypeMetatable(sfdType)
	mt.RawSetString("__index", newModule(L, map[string]lua.LGFunction{
		"setmask":     sfdSetmask,
		"get_fd":      sfdGetFD,
		"read":        sfdRead,
		"close":       sfdClose,
		"set_timeout": sfdSetTimeout,
		"get_timeout": sfdGetTimeout,
	}))
	mt.RawSetString("__gc", L.NewFunction(sfdClose))
	return newModule(L, map[string]lua.LGFunction{
		"mask":        sigMask,
		"sigprocmask": sigProcMask,
		"new":         sfdNew,
	})
}

func pushMask(L *lua.LState, set sigSet) {
	ud := L.NewUserData()
	ud.Value = set
	L.SetMetatable(ud, L.GetTypeMetatable(sigMaskType))
	L.Push(ud)
}

func toMask(v lua.LValue) (sigSet, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		set, ok := ud.Value.(sigSet)
		return set, ok
	}
	return 0, false
}

// sigMask is signalfd.mask(names): iteration stops at the first nil.
func sigMask(L *lua.LState) int {
	names := L.CheckTable(1)
	var set sigSet
	for i := 1; ; i++ {
		v := names.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		s, ok := signalNames[lua.LVAsString(v)]
		if !ok {
			L.Error(lua.LString("Invalid signal name: "+lua.LVAsString(v)), 0)
		}
		set |= sigBit(s)
	}
	pushMask(L, set)
	return 1
}

// sigProcMask is signalfd.sigprocmask([how], mask). The documented
// one-argument form (just a mask, meaning "block") is accepted too.
func sigProcMask(L *lua.LState) int {
	how := "block"
	maskArg := 2
	if _, ok := toMask(L.Get(1)); ok {
		maskArg = 1
	} else if L.Get(1) != lua.LNil {
		how = checkStringStrict(L, 1)
	}
	var set sigSet
	hasSet := false
	if v := L.Get(maskArg); v != lua.LNil {
		s, ok := toMask(v)
		if !ok {
			L.ArgError(maskArg, "signal mask expected")
		}
		set, hasSet = s, true
	}
	hub.mu.Lock()
	cur := hub.blocked
	hub.mu.Unlock()
	if !hasSet {
		pushMask(L, cur)
		return 1
	}
	var next sigSet
	switch how {
	case "block", "SIG_BLOCK":
		next = cur | set
	case "unblock", "SIG_UNBLOCK":
		next = cur &^ set
	case "setmask", "SIG_SETMASK":
		next = set
	default:
		L.ArgError(1, "invalid option '"+how+"'")
	}
	pushMask(L, hub.setBlocked(next))
	return 1
}

func sfdNew(L *lua.LState) int {
	h := &sfdHandle{core: &sfdCore{rfd: -1, wfd: -1, timeout: -1}}
	// gopher-lua never calls __gc; a Go finalizer releases the pipe.
	runtime.SetFinalizer(h, (*sfdHandle).close)
	ud := L.NewUserData()
	ud.Value = h
	L.SetMetatable(ud, L.GetTypeMetatable(sfdType))
	L.Push(ud)
	return 1
}

func checkSfd(L *lua.LState) *sfdHandle {
	ud := L.CheckUserData(1)
	h, ok := ud.Value.(*sfdHandle)
	if !ok {
		L.ArgError(1, "signalfd object expected")
	}
	return h
}

func sfdClosedError(L *lua.LState, fn string) {
	kernel.Raise(L, kernel.Error{Description: "Bad file descriptor", Code: "EBADF", Function: fn, Errno: int(syscall.EBADF)})
}

// sfdSetmask creates the descriptor on first use, then updates the mask.
func sfdSetmask(L *lua.LState) int {
	const fn = "slimta.signalfd.setmask()"
	h := checkSfd(L)
	set, ok := toMask(L.Get(2))
	if !ok {
		L.ArgError(2, "signal mask expected")
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	c := h.core
	if c.closed {
		sfdClosedError(L, fn)
	}
	if c.rfd < 0 {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
			kernel.RaiseErrno(L, fn, "signalfd", err)
		}
		c.rfd, c.wfd = p[0], p[1]
		hub.cores[c] = struct{}{}
	}
	c.mask = set &^ uncatchable
	c.refresh(hub.pending)
	return 0
}

func sfdGetFD(L *lua.LState) int {
	h := checkSfd(L)
	hub.mu.Lock()
	fd := h.core.rfd
	hub.mu.Unlock()
	L.Push(lua.LNumber(fd))
	return 1
}

func sfdSetTimeout(L *lua.LState) int {
	h := checkSfd(L)
	t := float64(L.CheckNumber(2))
	hub.mu.Lock()
	h.core.timeout = t
	hub.mu.Unlock()
	return 0
}

func sfdGetTimeout(L *lua.LState) int {
	h := checkSfd(L)
	hub.mu.Lock()
	t := h.core.timeout
	hub.mu.Unlock()
	L.Push(lua.LNumber(t))
	return 1
}

// sfdRead returns the name of the lowest-numbered pending signal of the
// mask (the order Linux uses), suspending only the calling ratchet thread.
func sfdRead(L *lua.LState) int {
	const fn = "slimta.signalfd.read()"
	h := checkSfd(L)
	c := h.core
	var deadline <-chan time.Time
	for {
		hub.mu.Lock()
		if c.closed || c.rfd < 0 {
			hub.mu.Unlock()
			sfdClosedError(L, fn)
		}
		if m := hub.pending & c.mask; m != 0 {
			s := syscall.Signal(bits.TrailingZeros64(uint64(m)))
			hub.pending &^= sigBit(s)
			hub.broadcast()
			hub.mu.Unlock()
			name, ok := signalByNumber[s]
			if !ok {
				L.RaiseError("Unknown signal number: %d", int(s))
			}
			L.Push(lua.LString(name))
			L.Push(lua.LNil)
			return 2
		}
		changed := hub.changed
		if deadline == nil && c.timeout >= 0 {
			deadline = time.After(time.Duration(c.timeout * float64(time.Second)))
		}
		hub.mu.Unlock()
		var timedOut, cancelled bool
		kernel.Block(L, func(cancel <-chan struct{}) {
			select {
			case <-changed:
			case <-deadline:
				timedOut = true
			case <-cancel:
				cancelled = true
			}
		}, nil)
		if timedOut {
			kernel.Raise(L, kernel.Error{Description: "Timed out waiting for signals.", Code: "ETIMEDOUT", Function: fn})
		}
		if cancelled {
			kernel.Raise(L, kernel.Error{Description: "Interrupted system call", Code: "EINTR", Function: fn, Errno: int(syscall.EINTR)})
		}
	}
}

func sfdClose(L *lua.LState) int {
	checkSfd(L).close()
	return 0
}
