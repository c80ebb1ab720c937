package ratchet

import (
	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
)

// openError builds ratchet.error and fills the shared metatable of error
// objects with their methods.
func openError(L *lua.LState) *lua.LTable {
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"is":         errorIs,
		"get_string": errorGetString,
	})
	mt := kernel.ErrorMeta(L)
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(errorToString))
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"new":        errorNew,
		"is":         errorIs,
		"get_string": errorGetString,
	})
}

// errorNew stores its arguments as given: nil stays nil, while "" and 0
// are kept (kernel.Error uses them to mean "absent").
func errorNew(L *lua.LState) int {
	desc := luaarg.CheckString(L, 1, "ratchet.error.new")
	e := kernel.NewError(L, kernel.Error{Description: desc})
	for i, field := range []string{"code", "function", "file", "line", "syscall", "errno"} {
		n := i + 2
		if L.Get(n) == lua.LNil {
			continue
		}
		var v lua.LValue
		if field == "line" || field == "errno" {
			v = lua.LNumber(int64(luaarg.CheckNumber(L, n, "ratchet.error.new")))
		} else {
			v = lua.LString(luaarg.CheckString(L, n, "ratchet.error.new"))
		}
		e.RawSetString(field, v)
	}
	L.Push(e)
	return 1
}

// errorIs compares plain values by raw equality and error objects by code;
// nil and booleans give false (the original raised on them).
func errorIs(L *lua.LState) int {
	err, code := L.Get(1), L.Get(2)
	switch err.(type) {
	case lua.LString, lua.LNumber:
		L.Push(lua.LBool(err == code))
		return 1
	case *lua.LNilType, lua.LBool:
		L.Push(lua.LFalse)
		return 1
	}
	if L.GetField(err, "type") != lua.LString("ratchet_error") {
		L.Push(lua.LFalse)
		return 1
	}
	L.Push(lua.LBool(L.GetField(err, "code") == code))
	return 1
}

func errorString(L *lua.LState, err lua.LValue) string {
	desc := lua.LVAsString(L.GetField(err, "description"))
	if fn := L.GetField(err, "function"); fn != lua.LNil {
		return lua.LVAsString(fn) + ": " + desc
	}
	if file := L.GetField(err, "file"); file != lua.LNil {
		return lua.LVAsString(file) + ":" + lua.LVAsString(L.GetField(err, "line")) + ": " + desc
	}
	return desc
}

func errorGetString(L *lua.LState) int {
	L.Push(lua.LString(errorString(L, L.CheckAny(1))))
	return 1
}

func errorToString(L *lua.LState) int {
	err := L.CheckAny(1)
	s := errorString(L, err)
	if th, ok := L.GetField(err, "thread").(*lua.LState); ok {
		if tb, ok := L.GetField(L.GetGlobal("debug"), "traceback").(*lua.LFunction); ok {
			L.Push(tb)
			L.Push(th)
			L.Push(lua.LString(s))
			if pcallfix.PCall(L, 2, 1) == nil {
				s = lua.LVAsString(L.Get(-1))
			}
			L.Pop(1)
		}
	}
	L.Push(lua.LString(s))
	return 1
}
