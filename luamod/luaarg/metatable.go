package luaarg

import lua "github.com/yuin/gopher-lua"

// Metatable returns the metatable stored under key in L's registry,
// creating it on first use with __index set to a table of the methods: the
// usual class of a native object. Pass a package-level map, so that a call
// that finds the cached metatable allocates nothing.
func Metatable(L *lua.LState, key string, methods map[string]lua.LGFunction) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(key).(*lua.LTable); ok {
		return mt
	}
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.SetFuncs(L.CreateTable(0, len(methods)), methods))
	L.G.Registry.RawSetString(key, mt)
	return mt
}

// CheckUserData returns argument n as the Go value T held by a userdata,
// or raises "bad argument #n to 'fname' (<what> expected, got <type>)".
func CheckUserData[T any](L *lua.LState, n int, fname, what string) T {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if v, ok := ud.Value.(T); ok {
			return v
		}
	}
	ArgError(L, n, fname, what+" expected, got "+TypeName(L, n))
	var zero T
	return zero
}
