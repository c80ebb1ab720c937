// Package native implements slimta's native core: the slimta table itself
// and the modules the original wrote in C (xml, uuid, base64, hmac, signalfd).
package native

import (
	"github.com/slimta-lua/slimta-lua/luamod/luafs"
	lua "github.com/yuin/gopher-lua"
)

// Version is slimta.version; the Received header policy prints it.
const Version = "0.0"

// submodule is one native module that require "slimta" pre-registers.
type submodule struct {
	name string // field of the slimta table; package.loaded key is "slimta."+name
	open func(L *lua.LState) *lua.LTable
}

// submodules lists the native submodules in registration order. Platform
// files append to it (signalfd exists on Linux only).
var submodules = []submodule{
	{"xml", openXML},
	{"uuid", openUUID},
	{"base64", openBase64},
	{"hmac", openHMAC},
}

// Preload registers require "slimta" (the core) in L, plus loaders for the
// native submodules so that require "slimta.base64" works even before
// require "slimta" (the original only had them after the core was loaded).
func Preload(L *lua.LState) {
	luafs.Register(L, "slimta", openCore)
	luafs.Register(L, MessageNativeModule, openMessageNative)
	for _, m := range submodules {
		field := m.name
		luafs.Register(L, "slimta."+field, func(L *lua.LState) int {
			core := requireCore(L)
			L.Push(core.RawGetString(field))
			return 1
		})
	}
}

// requireCore returns the slimta table, loading it through require so that
// package.loaded stays the single source of truth.
func requireCore(L *lua.LState) *lua.LTable {
	if t, ok := loadedTable(L).RawGetString("slimta").(*lua.LTable); ok {
		return t
	}
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString("slimta"))
	L.Call(1, 1)
	t, ok := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if !ok {
		L.RaiseError("require \"slimta\" did not return a table")
	}
	return t
}

func loadedTable(L *lua.LState) *lua.LTable {
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		if t, ok := pkg.RawGetString("loaded").(*lua.LTable); ok {
			return t
		}
	}
	// package library not opened: fall back to the registry's table.
	if t, ok := L.G.Registry.RawGetString("_LOADED").(*lua.LTable); ok {
		return t
	}
	t := L.NewTable()
	L.G.Registry.RawSetString("_LOADED", t)
	return t
}

// openCore is the loader of require "slimta" (spec 0.1, 2.1).
func openCore(L *lua.LState) int {
	// Reuse an existing global slimta table: Lua modules may have created it
	// (slimta = slimta or {...}) and stored namespaces in it already.
	t, ok := L.GetGlobal("slimta").(*lua.LTable)
	if !ok {
		t = L.NewTable()
	}
	t.RawSetString("version", lua.LString(Version))
	t.RawSetString("redirect_stdio", L.NewFunction(redirectStdio))
	t.RawSetString("daemonize", L.NewFunction(daemonize))
	t.RawSetString("drop_privileges", L.NewFunction(dropPrivileges))
	loaded := loadedTable(L)
	for _, m := range submodules {
		mod, ok := loaded.RawGetString("slimta." + m.name).(*lua.LTable)
		if !ok {
			mod = m.open(L)
			loaded.RawSetString("slimta."+m.name, mod)
		}
		t.RawSetString(m.name, mod)
	}
	loaded.RawSetString("slimta", t)
	L.SetGlobal("slimta", t)
	L.Push(t)
	return 1
}

// newModule builds a module table from a function map.
func newModule(L *lua.LState, funcs map[string]lua.LGFunction) *lua.LTable {
	t := L.CreateTable(0, len(funcs))
	for name, fn := range funcs {
		t.RawSetString(name, L.NewFunction(fn))
	}
	return t
}

// checkStringStrict is luaL_checkstring without number coercion where the
// spec says the argument must be a string ("raise if not a string"); numbers
// are still accepted because C Lua converts them too.
func checkStringStrict(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		L.TypeError(n, lua.LTString)
		return ""
	}
}
