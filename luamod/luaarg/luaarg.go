// Package luaarg checks Lua function arguments with errors that name the
// function, for the native modules of ratchet and slimta.
package luaarg

import (
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ArgError raises "bad argument #n to 'fname' (msg)". gopher-lua's own
// ArgError names the function from the call frame, which is "(anonymous)"
// when the function is reached through pcall or a table field.
func ArgError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

// CheckNumber reads argument n as a number (numeric strings convert, as
// in Lua) or raises a named argument error.
func CheckNumber(L *lua.LState, n int, fname string) float64 {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		if f, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64); err == nil {
			return f
		}
	}
	ArgError(L, n, fname, "number expected, got "+typeName(L, n))
	return 0
}

// CheckTable reads argument n as a table or raises a named argument error.
func CheckTable(L *lua.LState, n int, fname string) *lua.LTable {
	if t, ok := L.Get(n).(*lua.LTable); ok {
		return t
	}
	ArgError(L, n, fname, "table expected, got "+typeName(L, n))
	return nil
}

// CheckString reads argument n as a string (numbers convert) or raises.
func CheckString(L *lua.LState, n int, fname string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	ArgError(L, n, fname, "string expected, got "+typeName(L, n))
	return ""
}

func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

// TypeName is the Lua type name of argument n ("no value" past the top).
func TypeName(L *lua.LState, n int) string { return typeName(L, n) }

// OptNumber is CheckNumber with a default for nil or absent arguments.
func OptNumber(L *lua.LState, n int, fname string, def float64) float64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	return CheckNumber(L, n, fname)
}

// OptString is CheckString with a default for nil or absent arguments.
func OptString(L *lua.LState, n int, fname string, def string) string {
	if L.Get(n) == lua.LNil {
		return def
	}
	return CheckString(L, n, fname)
}
