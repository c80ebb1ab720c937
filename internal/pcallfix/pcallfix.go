// Package pcallfix provides a protected call for gopher-lua v1.1.2 that
// keeps closures attached to live locals.
//
// gopher-lua closes *every* open upvalue of a state when an error is raised
// without an error function (LState.raiseError -> closeAllUpvalues), including
// those of frames that the protected call does not unwind. After any caught
// error, closures and the locals they share silently diverge:
//
//	local a; local f = function() a = 1 end
//	pcall(error, "x"); f(); print(a)   --> nil with stock gopher-lua
//
// PCall raises with the state's hasErrorFunc flag set (which makes gopher-lua
// skip the global close) and then closes only the upvalues of the frames it
// unwound, as C Lua does. The fields involved are unexported, so they are
// reached through offsets computed once with reflect; Init verifies them.
package pcallfix

import (
	"errors"
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

var (
	offHasErrorFunc uintptr
	offUVCache      uintptr
	offReg          uintptr
	offRegTop       uintptr
	offUVNext       uintptr
	offUVIndex      uintptr
	ok              bool
)

func init() {
	st := reflect.TypeOf(lua.LState{})
	f1, a := st.FieldByName("hasErrorFunc")
	f2, b := st.FieldByName("uvcache")
	f3, c := st.FieldByName("reg")
	if !a || !b || !c || f1.Type.Kind() != reflect.Bool || f3.Type.Kind() != reflect.Pointer {
		return
	}
	rt := f3.Type.Elem()
	f4, d := rt.FieldByName("top")
	ut := reflect.TypeOf(lua.Upvalue{})
	f5, e := ut.FieldByName("next")
	f6, f := ut.FieldByName("index")
	if !d || !e || !f || f4.Type.Kind() != reflect.Int || f6.Type.Kind() != reflect.Int {
		return
	}
	offHasErrorFunc, offUVCache, offReg, offRegTop = f1.Offset, f2.Offset, f3.Offset, f4.Offset
	offUVNext, offUVIndex = f5.Offset, f6.Offset
	ok = true
}

// Available reports whether the fix could be applied to this gopher-lua build.
func Available() bool { return ok }

func hasErrorFunc(L *lua.LState) *bool {
	return (*bool)(unsafe.Add(unsafe.Pointer(L), offHasErrorFunc))
}

func regTop(L *lua.LState) int {
	reg := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), offReg))
	return *(*int)(unsafe.Add(reg, offRegTop))
}

// closeFrom closes the open upvalues of L at registry index idx and above.
func closeFrom(L *lua.LState, idx int) {
	head := (**lua.Upvalue)(unsafe.Add(unsafe.Pointer(L), offUVCache))
	var prev *lua.Upvalue
	for uv := *head; uv != nil; {
		next := *(**lua.Upvalue)(unsafe.Add(unsafe.Pointer(uv), offUVNext))
		if *(*int)(unsafe.Add(unsafe.Pointer(uv), offUVIndex)) >= idx {
			// The list is sorted by index: everything from here on is closed.
			if prev == nil {
				*head = nil
			} else {
				*(**lua.Upvalue)(unsafe.Add(unsafe.Pointer(prev), offUVNext)) = nil
			}
			for ; uv != nil; uv = *(**lua.Upvalue)(unsafe.Add(unsafe.Pointer(uv), offUVNext)) {
				uv.Close()
			}
			return
		}
		prev = uv
		uv = next
	}
}

// PCall is L.PCall(nargs, nret, nil) with correct upvalue closing.
func PCall(L *lua.LState, nargs, nret int) error {
	return PCallHandler(L, nargs, nret, nil)
}

// PCallHandler calls the function below the top nargs values in protected
// mode. If it raises, handler (when non-nil) runs at the error point, with
// the failing frames still on the stack, and its result becomes the error
// value. Then, still before gopher-lua unwinds and clears the registry, the
// upvalues of the failing frames are closed, so closures that escaped keep
// their values and closures of the live frames stay attached.
func PCallHandler(L *lua.LState, nargs, nret int, handler lua.LValue) error {
	if !ok {
		if fn, isFn := handler.(*lua.LFunction); isFn {
			return L.PCall(nargs, nret, fn)
		}
		return L.PCall(nargs, nret, nil)
	}
	base := regTop(L) - nargs - 1
	flag := hasErrorFunc(L)
	old := *flag
	ef := L.NewFunction(func(L *lua.LState) int {
		res := L.Get(1)
		if handler != nil && handler != lua.LNil {
			L.Push(handler)
			L.Push(res)
			if err := L.PCall(1, 1, nil); err != nil {
				res = ErrorValue(err)
			} else {
				res = L.Get(-1)
			}
		}
		closeFrom(L, base)
		L.Push(res)
		return 1
	})
	err := L.PCall(nargs, nret, ef)
	*flag = old // PCall clears it; an enclosing protected call still needs it
	return err
}

// ErrorValue returns the Lua value carried by a PCall error.
func ErrorValue(err error) lua.LValue {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		if ae.Object != nil {
			return ae.Object
		}
	}
	return lua.LString(err.Error())
}

// Traceback returns the stack trace captured when the error was raised.
func Traceback(err error) string {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		return ae.StackTrace
	}
	return ""
}

// Open replaces the global pcall and xpcall with upvalue-safe versions.
// xpcall also passes extra arguments to f, as Lua 5.2 does.
func Open(L *lua.LState) {
	L.SetGlobal("pcall", L.NewFunction(pcall))
	L.SetGlobal("xpcall", L.NewFunction(xpcall))
}

func notCallable(L *lua.LState, v lua.LValue) bool {
	if _, isFn := v.(*lua.LFunction); isFn {
		return false
	}
	return L.GetMetaField(v, "__call").Type() != lua.LTFunction
}

func pcall(L *lua.LState) int {
	v := L.CheckAny(1)
	if notCallable(L, v) {
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + v.Type().String() + " value"))
		return 2
	}
	if err := PCall(L, L.GetTop()-1, lua.MultRet); err != nil {
		L.Push(lua.LFalse)
		L.Push(ErrorValue(err))
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

func xpcall(L *lua.LState) int {
	fn := L.CheckAny(1)
	handler := L.CheckAny(2)
	L.Remove(2)
	if notCallable(L, fn) {
		L.SetTop(0)
		L.Push(handler)
		L.Push(lua.LString("attempt to call a " + fn.Type().String() + " value"))
		if err := PCall(L, 1, 1); err != nil {
			L.Push(lua.LFalse)
			L.Push(ErrorValue(err))
			return 2
		}
		L.Insert(lua.LFalse, 1)
		return 2
	}
	if err := PCallHandler(L, L.GetTop()-1, lua.MultRet, handler); err != nil {
		L.Push(lua.LFalse)
		L.Push(ErrorValue(err))
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}
