package compat

import (
	"errors"
	"os"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Boxed constants: converting a string to an lua.LValue allocates, and
// tostring/print run on hot paths.
var (
	lvTrue  lua.LValue = lua.LString("true")
	lvFalse lua.LValue = lua.LString("false")
	lvNil   lua.LValue = lua.LString("nil")
	lvEmpty lua.LValue = lua.LString("")

	boxedInts [len(smallInts)]lua.LValue
)

// numberValue returns the string value of a number, using the cache for
// small integers.
func numberValue(f float64) lua.LValue {
	if f >= 0 && f < float64(len(boxedInts)) {
		if i := int(f); float64(i) == f && (i != 0 || 1/f > 0) {
			return boxedInts[i]
		}
	}
	return lua.LString(FormatNumber(f))
}

func (st *state) openBase(L *lua.LState, g *lua.LTable) {
	st.tostring = L.NewFunction(st.baseTostring)
	g.RawSetString("tostring", st.tostring)
	g.RawSetString("print", L.NewFunction(st.basePrint))
	g.RawSetString("tonumber", L.NewFunction(baseTonumber))
	g.RawSetString("select", L.NewFunction(baseSelect))
	g.RawSetString("error", L.NewFunction(baseError))
	g.RawSetString("rawlen", L.NewFunction(baseRawlen))
	load := L.NewFunction(baseLoad)
	g.RawSetString("load", load)
	g.RawSetString("loadstring", load) // 5.2 keeps loadstring as an alias of load
	g.RawSetString("unpack", L.NewFunction(tableUnpack))

	// xpcall's trampoline frame is marked by a private environment table so
	// that debug.traceback can leave it out.
	st.xpcallEnv = L.NewTable()
	g.RawSetString("xpcall", L.NewFunction(st.baseXpcall))

	// Keep gopher-lua's fast iterators; only the __pairs/__ipairs dispatch is new.
	st.pairsIter = firstResult(L, g.RawGetString("pairs"), L.NewTable())
	st.ipairsIter = firstResult(L, g.RawGetString("ipairs"), L.NewTable())
	if st.pairsIter != lua.LNil {
		g.RawSetString("pairs", L.NewFunction(st.basePairs))
	}
	if st.ipairsIter != lua.LNil {
		g.RawSetString("ipairs", L.NewFunction(st.baseIpairs))
	}
}

// firstResult calls fn(arg) and returns its first result, or nil if fn is
// not a function or fails.
func firstResult(L *lua.LState, fn lua.LValue, arg lua.LValue) lua.LValue {
	if _, ok := fn.(*lua.LFunction); !ok {
		return lua.LNil
	}
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, arg); err != nil {
		return lua.LNil
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// tostringValue converts v like 5.2's luaL_tolstring: __tostring first (its
// result is returned as is), then numbers with %.14g, then the default
// "type: address" forms of gopher-lua.
func tostringValue(L *lua.LState, v lua.LValue) lua.LValue {
	switch x := v.(type) {
	case lua.LString:
		return v
	case lua.LNumber:
		return numberValue(float64(x))
	case lua.LBool:
		if x {
			return lvTrue
		}
		return lvFalse
	case *lua.LNilType:
		return lvNil
	case *lua.LTable:
		if x.Metatable == lua.LNil {
			return lua.LString(x.String())
		}
	}
	if mm := L.GetMetaField(v, "__tostring"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 1)
		r := L.Get(-1)
		L.Pop(1)
		return r
	}
	return lua.LString(v.String())
}

// tostringStrict is tostringValue for callers that need a string (print,
// string.format's %s): a __tostring result that is neither a string nor a
// number is an error.
func tostringStrict(L *lua.LState, v lua.LValue) string {
	switch x := tostringValue(L, v).(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return FormatNumber(float64(x))
	}
	L.RaiseError("'__tostring' must return a string")
	return ""
}

func (st *state) baseTostring(L *lua.LState) int {
	L.Push(tostringValue(L, L.CheckAny(1)))
	return 1
}

func (st *state) basePrint(L *lua.LState) int {
	top := L.GetTop()
	// 5.2's print calls the global tostring; ours is called directly unless
	// a script replaced it.
	ts := L.G.Global.RawGetString("tostring")
	fast := ts == lua.LValue(st.tostring)
	var stack [256]byte
	buf := stack[:0]
	for i := 1; i <= top; i++ {
		var r lua.LValue
		if fast {
			r = tostringValue(L, L.Get(i))
		} else {
			L.Push(ts)
			L.Push(L.Get(i))
			L.Call(1, 1)
			r = L.Get(-1)
			L.Pop(1)
		}
		if i > 1 {
			buf = append(buf, '\t')
		}
		switch x := r.(type) {
		case lua.LString:
			buf = append(buf, x...)
		case lua.LNumber:
			buf = appendNumber(buf, float64(x))
		default:
			L.RaiseError("'tostring' must return a string to 'print'")
		}
	}
	buf = append(buf, '\n')
	_, _ = os.Stdout.Write(buf)
	return 0
}

func baseTonumber(L *lua.LState) int {
	if L.Get(2) == lua.LNil {
		switch x := L.CheckAny(1).(type) {
		case lua.LNumber:
			L.Push(x)
			return 1
		case lua.LString:
			if f, ok := ParseNumber(string(x)); ok {
				L.Push(lua.LNumber(f))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}
	s := checkString(L, 1)
	base := checkInt(L, 2)
	if base < 2 || base > 36 {
		L.ArgError(2, "base out of range")
	}
	if f, ok := parseBase(s, int(base)); ok {
		L.Push(lua.LNumber(f))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// baseSelect accepts numeric strings as the index, which gopher-lua's
// select rejects.
func baseSelect(L *lua.LState) int {
	n := L.GetTop()
	if s, ok := L.Get(1).(lua.LString); ok && len(s) > 0 && s[0] == '#' {
		L.Push(lua.LNumber(n - 1))
		return 1
	}
	i := checkInt(L, 1)
	if i < 0 {
		i = int64(n) + i
	} else if i > int64(n) {
		i = int64(n)
	}
	if i < 1 {
		L.ArgError(1, "index out of range")
	}
	return n - int(i)
}

func baseRawlen(L *lua.LState) int {
	switch x := L.Get(1).(type) {
	case *lua.LTable:
		L.Push(lua.LNumber(x.Len()))
	case lua.LString:
		L.Push(lua.LNumber(len(x)))
	default:
		L.ArgError(1, "table or string expected")
	}
	return 1
}

// chunkID turns a chunk name into the short source name that C Lua shows in
// messages (luaO_chunkid with LUA_IDSIZE 60): "=name" -> name, "@file" ->
// file, anything else -> [string "first line..."].
func chunkID(name string) string {
	const idsize = 60
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	switch {
	case strings.HasPrefix(name, "="):
		if len(name) <= idsize {
			return name[1:]
		}
		return name[1:idsize]
	case strings.HasPrefix(name, "@"):
		if len(name) <= idsize {
			return name[1:]
		}
		return "..." + name[len(name)-(idsize-4):]
	}
	const avail = idsize - len(`[string "...`+`"]`) - 1
	nl := strings.IndexByte(name, '\n')
	if nl < 0 && len(name) < avail {
		return `[string "` + name + `"]`
	}
	if nl >= 0 {
		name = name[:nl]
	}
	if len(name) > avail {
		name = name[:avail]
	}
	return `[string "` + name + `..."]`
}

// baseLoad is 5.2's load(chunk [, chunkname [, mode [, env]]]); chunk is a
// string or a reader function. Failures return nil and the message.
func baseLoad(L *lua.LState) int {
	var src string
	var name string
	switch x := L.Get(1).(type) {
	case lua.LString:
		src = string(x)
		name = optString(L, 2, src)
	case lua.LNumber:
		src = FormatNumber(float64(x))
		name = optString(L, 2, src)
	case *lua.LFunction:
		name = optString(L, 2, "=(load)")
		var b strings.Builder
		for {
			L.Push(x)
			if err := L.PCall(0, 1, nil); err != nil {
				L.Push(lua.LNil)
				L.Push(errorObject(err))
				return 2
			}
			r := L.Get(-1)
			L.Pop(1)
			if r == lua.LNil {
				break
			}
			piece, ok := r.(lua.LString)
			if !ok {
				if n, isNum := r.(lua.LNumber); isNum {
					piece = lua.LString(FormatNumber(float64(n)))
				} else {
					L.Push(lua.LNil)
					L.Push(lua.LString("reader function must return a string"))
					return 2
				}
			}
			if len(piece) == 0 {
				break
			}
			b.WriteString(string(piece))
		}
		src = b.String()
	default:
		L.ArgError(1, "string or function expected, got "+L.Get(1).Type().String())
	}
	mode := optString(L, 3, "bt")
	var env *lua.LTable
	if L.GetTop() >= 4 {
		switch e := L.Get(4).(type) {
		case *lua.LTable:
			env = e
		case *lua.LNilType:
			// 5.2 would make _ENV nil; gopher-lua's environments must be tables.
		default:
			L.ArgError(4, "table expected, got "+e.Type().String())
		}
	}
	binary := len(src) > 0 && src[0] == 0x1b
	if binary && !strings.Contains(mode, "b") {
		L.Push(lua.LNil)
		L.Push(lua.LString("attempt to load a binary chunk (mode is '" + mode + "')"))
		return 2
	}
	if !binary && !strings.Contains(mode, "t") {
		L.Push(lua.LNil)
		L.Push(lua.LString("attempt to load a text chunk (mode is '" + mode + "')"))
		return 2
	}
	id := chunkID(name)
	fn, err := L.Load(strings.NewReader(src), id)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(syntaxMessage(err, id, src)))
		return 2
	}
	if env != nil {
		fn.Env = env
	}
	L.Push(fn)
	return 1
}

// syntaxMessage renders gopher-lua's parse errors in C Lua's form
// "chunk:line: message near 'token'" ("near <eof>" at the end).
func syntaxMessage(err error, id, src string) string {
	var pe *parse.Error
	if aerr, ok := err.(*lua.ApiError); ok && aerr.Cause != nil {
		err = aerr.Cause
	}
	if !errors.As(err, &pe) {
		return strings.TrimSpace(err.Error())
	}
	msg := pe.Message
	if msg == "parse error" {
		msg = "syntax error"
	}
	if pe.Pos.Line == parse.EOF {
		line := strings.Count(src, "\n") + 1
		return id + ":" + strconv.Itoa(line) + ": " + msg + " near <eof>"
	}
	return id + ":" + strconv.Itoa(pe.Pos.Line) + ": " + msg + " near '" + pe.Token + "'"
}

// errorObject extracts the Lua error value from a PCall error.
func errorObject(err error) lua.LValue {
	if aerr, ok := err.(*lua.ApiError); ok {
		return aerr.Object
	}
	return lua.LString(err.Error())
}

// baseXpcall is 5.2's xpcall(f, handler, ...), passing the extra arguments
// to f.
//
// gopher-lua's own message-handler support (PCall with a handler) leaves
// upvalues open on errors, so closures that escape the failed call read
// garbage later (kernel notes §3). Instead, f runs under a nil-handler
// PCall, which closes upvalues while the values are still in the registry,
// and the handler is run from the LState's Panic hook, which gopher-lua
// calls at the error point before unwinding: the handler still sees the
// failing frames, so debug.traceback and debug.getinfo work as in C Lua,
// whatever the handler is. Errors that bypass the hook (Go panics inside Go
// functions) get the handler after unwinding.
func (st *state) baseXpcall(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		L.ArgError(2, "value expected")
	}
	handler := L.Get(2)
	handled := false
	body := L.NewFunction(func(L *lua.LState) int {
		prev := L.Panic
		L.Panic = func(L *lua.LState) {
			L.Panic = prev
			res := callHandler(L, handler, L.Get(-1))
			handled = true
			L.Push(res)
			prev(L)
		}
		// Stack: f, handler, args... -> f(args...).
		L.Remove(2)
		if f := L.Get(1); !isCallable(L, f) {
			// Raised from here (a Go frame) C Lua's message has no position.
			L.Error(lua.LString("attempt to call a "+f.Type().String()+" value"), 0)
		}
		L.Call(L.GetTop()-1, lua.MultRet)
		L.Panic = prev
		return L.GetTop()
	})
	body.Env = st.xpcallEnv
	L.Insert(body, 1)
	if err := L.PCall(n, lua.MultRet, nil); err != nil {
		obj := errorObject(err)
		if !handled {
			obj = callHandler(L, handler, obj)
		}
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// callHandler runs an xpcall message handler on the error value; like C
// Lua, a failing handler gives "error in error handling".
func callHandler(L *lua.LState, handler, errv lua.LValue) lua.LValue {
	if !isCallable(L, handler) {
		return lua.LString("error in error handling")
	}
	L.Push(handler)
	L.Push(errv)
	if err := L.PCall(1, 1, nil); err != nil {
		return lua.LString("error in error handling")
	}
	res := L.Get(-1)
	L.Pop(1)
	return res
}

func isCallable(L *lua.LState, v lua.LValue) bool {
	if _, ok := v.(*lua.LFunction); ok {
		return true
	}
	_, ok := L.GetMetaField(v, "__call").(*lua.LFunction)
	return ok
}

// baseError is error(v [, level]). gopher-lua's skips Go frames when it
// looks for the position to prepend, so pcall(error, "x") gave
// "file:1: x" where C Lua gives "x". Numbers get the position too, as in C.
// error() with no value raises nil, as C Lua does.
func baseError(L *lua.LState) int {
	obj := L.Get(1)
	level := optInt(L, 2, 1)
	if level > 0 {
		var msg string
		switch x := obj.(type) {
		case lua.LString:
			msg = string(x)
		case lua.LNumber:
			msg = FormatNumber(float64(x))
		default:
			L.Error(obj, 0)
			return 0
		}
		obj = lua.LString(where(L, int(level)) + msg)
	}
	L.Error(obj, 0)
	return 0
}

// where is luaL_where: "src:line: " of the function at level, or "" for a
// Go function or a level that does not exist.
func where(L *lua.LState, level int) string {
	d, ok := L.GetStack(level)
	if !ok {
		return ""
	}
	fv, err := L.GetInfo("Slf", d, lua.LNil)
	if err != nil {
		return ""
	}
	if fn, ok := fv.(*lua.LFunction); !ok || fn.IsG || d.CurrentLine <= 0 {
		return ""
	}
	return d.Source + ":" + strconv.Itoa(d.CurrentLine) + ": "
}

// basePairs honours __pairs (5.2).
func (st *state) basePairs(L *lua.LState) int {
	v := L.Get(1)
	if t, ok := v.(*lua.LTable); ok && t.Metatable == lua.LNil {
		L.Push(st.pairsIter)
		L.Push(t)
		L.Push(lua.LNil)
		return 3
	}
	if mm := L.GetMetaField(v, "__pairs"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 3)
		return 3
	}
	L.CheckTable(1)
	L.Push(st.pairsIter)
	L.Push(v)
	L.Push(lua.LNil)
	return 3
}

// baseIpairs honours __ipairs (5.2).
func (st *state) baseIpairs(L *lua.LState) int {
	v := L.Get(1)
	if t, ok := v.(*lua.LTable); ok && t.Metatable == lua.LNil {
		L.Push(st.ipairsIter)
		L.Push(t)
		L.Push(lua.LNumber(0))
		return 3
	}
	if mm := L.GetMetaField(v, "__ipairs"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 3)
		return 3
	}
	L.CheckTable(1)
	L.Push(st.ipairsIter)
	L.Push(v)
	L.Push(lua.LNumber(0))
	return 3
}
