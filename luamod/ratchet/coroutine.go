package ratchet

import (
	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
)

// GuardCoroutines wraps coroutine.resume, coroutine.wrap and
// coroutine.status so that Lua code cannot resume a ratchet thread's own
// coroutine or a coroutine parked inside a blocking call: gopher-lua would
// re-enter the parked Go frame and corrupt both threads (kernel notes §2).
func GuardCoroutines(L *lua.LState) {
	co, ok := L.GetGlobal("coroutine").(*lua.LTable)
	if !ok {
		return
	}
	origResume, _ := co.RawGetString("resume").(*lua.LFunction)
	origStatus, _ := co.RawGetString("status").(*lua.LFunction)
	origCreate, _ := co.RawGetString("create").(*lua.LFunction)
	if origResume == nil || origStatus == nil || origCreate == nil {
		return
	}
	resume := func(L *lua.LState) int {
		th := L.CheckThread(1)
		if kernel.IsParked(L, th) {
			L.Push(lua.LFalse)
			L.Push(lua.LString("cannot resume non-suspended coroutine"))
			return 2
		}
		top := L.GetTop()
		L.Insert(origResume, 1)
		L.Call(top, lua.MultRet)
		return L.GetTop()
	}
	co.RawSetString("resume", L.NewFunction(resume))
	co.RawSetString("status", L.NewFunction(func(L *lua.LState) int {
		th := L.CheckThread(1)
		if s := kernel.ThreadStatus(L, th); s != "" {
			L.Push(lua.LString(s))
			return 1
		}
		L.Push(origStatus)
		L.Push(th)
		L.Call(1, 1)
		return 1
	}))
	co.RawSetString("wrap", L.NewFunction(func(L *lua.LState) int {
		L.Push(origCreate)
		L.Push(L.CheckFunction(1))
		L.Call(1, 1)
		th := L.Get(-1).(*lua.LState)
		L.Pop(1)
		L.Push(L.NewFunction(func(L *lua.LState) int {
			if kernel.IsParked(L, th) {
				L.RaiseError("cannot resume non-suspended coroutine")
			}
			top := L.GetTop()
			L.Insert(th, 1)
			L.Insert(origResume, 1)
			L.Call(top+1, lua.MultRet)
			if !lua.LVAsBool(L.Get(1)) {
				L.Error(L.Get(2), 0)
			}
			return L.GetTop() - 1
		}))
		return 1
	}))
}
