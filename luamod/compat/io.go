package compat

import (
	lua "github.com/yuin/gopher-lua"
)

// io.write and file:write wrap gopher-lua's (whose file type is private) to
// write numbers with %.14g and to return the file, as 5.2 does, so that
// writes can be chained: f:write(a):write(b).
func (st *state) openIO(L *lua.LState, g *lua.LTable) {
	mt, ok := L.GetTypeMetatable("FILE*").(*lua.LTable)
	if !ok {
		return
	}
	st.fileWrite = mt.RawGetString("write")
	if _, ok := st.fileWrite.(*lua.LFunction); !ok {
		return
	}
	mt.RawSetString("write", L.NewFunction(st.fileWriteFn))
	if t := libTable(g, "io"); t != nil {
		st.ioOutput = t.RawGetString("output")
		st.ioOpen = t.RawGetString("open")
		if _, ok := st.ioOutput.(*lua.LFunction); ok {
			t.RawSetString("write", L.NewFunction(st.ioWriteFn))
			if _, ok := st.ioOpen.(*lua.LFunction); ok {
				t.RawSetString("output", L.NewFunction(st.ioOutputFn))
			}
		}
	}
}

func (st *state) fileWriteFn(L *lua.LState) int {
	top := L.GetTop()
	for i := 2; i <= top; i++ {
		if n, ok := L.Get(i).(lua.LNumber); ok {
			L.Replace(i, numberValue(float64(n)))
		}
	}
	f := L.Get(1)
	L.Insert(st.fileWrite, 1)
	L.Call(top, lua.MultRet)
	if L.GetTop() == 1 && L.Get(1) == lua.LTrue {
		L.Replace(1, f)
	}
	return L.GetTop()
}

func (st *state) ioWriteFn(L *lua.LState) int {
	L.Push(st.ioOutput)
	L.Call(0, 1)
	out := L.Get(-1)
	L.Pop(1)
	L.Insert(out, 1)
	return st.fileWriteFn(L)
}

// ioOutputFn opens a file name given to io.output with mode "w" (truncating
// it, as C does); gopher-lua's opened it without truncation, leaving stale
// bytes after the new content.
func (st *state) ioOutputFn(L *lua.LState) int {
	if name, ok := L.Get(1).(lua.LString); ok {
		L.Push(st.ioOpen)
		L.Push(name)
		L.Push(lua.LString("w"))
		L.Call(2, 2)
		f, msg := L.Get(-2), L.Get(-1)
		L.Pop(2)
		if f == lua.LNil {
			L.RaiseError("cannot open file '%s' (%s)", string(name), msg.String())
		}
		L.Replace(1, f)
	}
	top := L.GetTop()
	L.Insert(st.ioOutput, 1)
	L.Call(top, lua.MultRet)
	return L.GetTop()
}
