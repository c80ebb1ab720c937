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
