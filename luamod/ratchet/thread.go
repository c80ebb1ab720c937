package ratchet

import (
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
)

func openThread(L *lua.LState) *lua.LTable {
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"attach":   threadAttach,
		"wait_all": threadWaitAll,
		"space":    threadSpace,
		"self":     threadSelf,
		"timer":    threadTimer,
		"alarm":    threadAlarm,
		"pause":    threadPause,
		"unpause":  threadUnpause,
		"block_on": threadBlockOn,
		"sigwait":  threadSigwait,
		"kill":     threadKill,
		"kill_all": threadKillAll,
	})
}

func threadAttach(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.attach()")
	if L.GetTop() < 1 {
		luaarg.ArgError(L, 1, "ratchet.thread.attach", "value expected")
	}
	fn := L.Get(1)
	checkCallable(L, 1, "ratchet.thread.attach", fn)
	var args []lua.LValue
	if n := L.GetTop(); n > 1 {
		args = make([]lua.LValue, 0, n-1)
		for i := 2; i <= n; i++ {
			args = append(args, L.Get(i))
		}
	}
	t := kernel.Attach(L, fn, args)
	L.Push(t.Co())
	return 1
}

// threadList reads list[1..] up to the first nil, as threads.
func threadList(L *lua.LState, fname string) []*kernel.Thread {
	tbl, ok := L.Get(1).(*lua.LTable)
	if !ok {
		luaarg.ArgError(L, 1, fname, "table expected, got "+luaarg.TypeName(L, 1))
	}
	var out []*kernel.Thread
	for i := 1; ; i++ {
		v := tbl.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		co, ok := v.(*lua.LState)
		if !ok {
			L.RaiseError("%s: Table item %d is not a thread.", fname, i)
		}
		if t := kernel.ThreadOf(L, co); t != nil {
			out = append(out, t)
		}
	}
	return out
}

func threadWaitAll(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.wait_all()")
	kernel.WaitAll(L, threadList(L, "ratchet.thread.wait_all()"))
	return 0
}

func threadSpace(L *lua.LState) int {
	t := kernel.NeedThread(L, "ratchet.thread.space()")
	L.Push(t.Space(L, L.Get(1)))
	return 1
}

func threadSelf(L *lua.LState) int {
	if co := kernel.CurrentCoroutine(L); co != nil {
		L.Push(co)
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

// seconds converts a Lua number of seconds to a duration, clamping
// negatives to zero and absurd values to about 292 years.
func seconds(f float64) time.Duration {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f > float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(f * float64(time.Second))
}

func threadTimer(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.timer()")
	// Negative means "until the next poll" (spec 2.2): callers pass
	// computed remainders such as deadline - now.
	n := luaarg.CheckNumber(L, 1, "ratchet.thread.timer")
	kernel.Sleep(L, seconds(n))
	return 0
}

func threadAlarm(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.alarm()")
	n := luaarg.CheckNumber(L, 1, "ratchet.thread.alarm")
	cb := L.Get(2)
	if cb != lua.LNil {
		checkCallable(L, 2, "ratchet.thread.alarm", cb)
	}
	kernel.SetAlarm(L, seconds(n), cb)
	return 0
}

func threadPause(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.pause()")
	vals := kernel.Pause(L)
	for _, v := range vals {
		L.Push(v)
	}
	return len(vals)
}

func threadUnpause(L *lua.LState) int {
	co := checkThread(L, 1, "ratchet.thread.unpause")
	t := kernel.ThreadOf(L, co)
	var vals []lua.LValue
	for i := 2; i <= L.GetTop(); i++ {
		vals = append(vals, L.Get(i))
	}
	if t == nil || !kernel.Unpause(t, vals) {
		L.RaiseError("Thread is not yielding, cannot unpause.")
	}
	return 0
}

func threadKill(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.kill()")
	co := checkThread(L, 1, "ratchet.thread.kill")
	if t := kernel.ThreadOf(L, co); t != nil {
		kernel.Kill(L, t)
	}
	return 0
}

func threadKillAll(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.kill_all()")
	list := threadList(L, "ratchet.thread.kill_all()")
	self := kernel.Current(L)
	killSelf := false
	for _, t := range list {
		if t == self {
			killSelf = true
			continue
		}
		kernel.Kill(L, t)
	}
	if killSelf {
		kernel.Kill(L, self)
	}
	return 0
}

// waitableOf finds how to wait on a Lua object: the Go value behind a
// ratchet userdata, or its get_fd() descriptor.
func waitableOf(L *lua.LState, v lua.LValue, what string, idx int) kernel.Waitable {
	if ud, ok := v.(*lua.LUserData); ok {
		if w, ok := ud.Value.(kernel.Waitable); ok {
			return w
		}
	}
	if tbl, ok := v.(*lua.LTable); ok {
		// Lua objects wrapping a ratchet object may expose it for waiting.
		if inner := tbl.RawGetString("socket"); inner != lua.LNil {
			if ud, ok := inner.(*lua.LUserData); ok {
				if w, ok := ud.Value.(kernel.Waitable); ok {
					return w
				}
			}
		}
	}
	getfd := L.GetField(v, "get_fd")
	if getfd == lua.LNil {
		L.RaiseError("ratchet.thread.block_on(): %s item %d has no get_fd() method.", what, idx)
	}
	L.Push(getfd)
	L.Push(v)
	L.Call(1, 1)
	fd := L.Get(-1)
	L.Pop(1)
	n, ok := fd.(lua.LNumber)
	if !ok || n < 0 {
		kernel.Raise(L, kernel.Error{Description: "Invalid file descriptor: " + lua.LVAsString(fd), Code: "EBADF", Function: "ratchet.thread.block_on()"})
	}
	return kernel.FDWaitable(int(n))
}

func threadBlockOn(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.block_on()")
	reads := luaarg.CheckTable(L, 1, "ratchet.thread.block_on")
	writes, _ := L.Get(2).(*lua.LTable)
	if L.Get(2) != lua.LNil && writes == nil {
		luaarg.ArgError(L, 2, "ratchet.thread.block_on", "table or nil expected")
	}
	timeout := time.Duration(-1)
	if L.Get(3) != lua.LNil {
		timeout = seconds(luaarg.CheckNumber(L, 3, "ratchet.thread.block_on"))
	}
	var items []kernel.WaitItem
	var objs []lua.LValue
	add := func(t *lua.LTable, write bool, what string) {
		if t == nil {
			return
		}
		for i := 1; ; i++ {
			v := t.RawGetInt(i)
			if v == lua.LNil {
				break
			}
			items = append(items, kernel.WaitItem{W: waitableOf(L, v, what, i), Write: write})
			objs = append(objs, v)
		}
	}
	add(reads, false, "read")
	add(writes, true, "write")
	if len(items) == 0 && timeout < 0 {
		kernel.Pause(L) // can never wake by itself: DEADLOCK if nothing else is pending
		L.Push(lua.LFalse)
		return 1
	}
	i := kernel.WaitAny(L, items, timeout)
	if i < 0 {
		L.Push(lua.LFalse)
		return 1
	}
	L.Push(objs[laterSameFD(L, objs, i)])
	return 1
}

// laterSameFD returns the index of the last object in objs that shares the
// descriptor of objs[i]: the original kept one object per descriptor, so a
// later entry for the same descriptor replaced an earlier one (spec 2.2).
func laterSameFD(L *lua.LState, objs []lua.LValue, i int) int {
	if i == len(objs)-1 {
		return i
	}
	fd, ok := objectFD(L, objs[i])
	if !ok {
		return i
	}
	for j := len(objs) - 1; j > i; j-- {
		if other, ok := objectFD(L, objs[j]); ok && other == fd {
			return j
		}
	}
	return i
}

// objectFD calls v:get_fd() if v has that method.
func objectFD(L *lua.LState, v lua.LValue) (lua.LNumber, bool) {
	getfd := L.GetField(v, "get_fd")
	if getfd == lua.LNil {
		return 0, false
	}
	L.Push(getfd)
	L.Push(v)
	if pcallfix.PCall(L, 1, 1) != nil {
		return 0, false // nothing is left on the stack
	}
	n, ok := L.Get(-1).(lua.LNumber)
	L.Pop(1)
	return n, ok && n >= 0
}

// CheckSignal reads a signal given as a number or a name, as sigwait and
// exec's kill accept it.
func CheckSignal(L *lua.LState, n int, fname string) syscall.Signal {
	return luaarg.CheckSignal(L, n, fname)
}

func threadSigwait(L *lua.LState) int {
	kernel.NeedThread(L, "ratchet.thread.sigwait()")
	sig := CheckSignal(L, 1, "ratchet.thread.sigwait")
	c := make(chan os.Signal, 1)
	signal.Notify(c, sig)
	kernel.Block(L, func(cancel <-chan struct{}) {
		select {
		case <-c:
		case <-cancel:
		}
	}, nil)
	signal.Stop(c)
	L.Push(lua.LTrue)
	return 1
}

func checkThread(L *lua.LState, n int, fname string) *lua.LState {
	if co, ok := L.Get(n).(*lua.LState); ok {
		return co
	}
	luaarg.ArgError(L, n, fname, "thread expected, got "+luaarg.TypeName(L, n))
	return nil
}
