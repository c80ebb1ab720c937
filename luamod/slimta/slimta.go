// Package slimta registers the slimta MTA modules: the native core
// (luamod/slimta/native) and the Lua modules embedded from lua/.
package slimta

import (
	"embed"
	"io/fs"

	"github.com/slimta-lua/slimta-lua/luamod/luafs"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/native"
	lua "github.com/yuin/gopher-lua"
)

//go:embed lua
var luaFiles embed.FS

// LuaFS is the tree of embedded slimta Lua sources (slimta/...).
var LuaFS, _ = fs.Sub(luaFiles, "lua")

// Preload makes require "slimta" and every slimta.* module available in L.
func Preload(L *lua.LState) {
	luafs.Preload(L, LuaFS)
	native.Preload(L)
	PreloadStorage(L)
}
