package slimta

import (
	"github.com/slimta-lua/slimta-lua/luamod/luafs"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/disk"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/redis"
	lua "github.com/yuin/gopher-lua"
)

// PreloadStorage registers the Go-backed storage engines in L:
// slimta.storage.disk, slimta.storage.redis and the redis engine's
// internal driver and session modules. (slimta.storage.memory is plain Lua
// and comes with the embedded sources.) Preload should call it; until it
// does, embedders and tests call it after slimta.Preload.
func PreloadStorage(L *lua.LState) {
	luafs.Register(L, disk.ModuleName, disk.Loader)
	luafs.Register(L, redis.ModuleName, redis.Loader)
	luafs.Register(L, redis.DriverModuleName, redis.DriverLoader)
	luafs.Register(L, redis.SessionModuleName, redis.SessionLoader)
}
