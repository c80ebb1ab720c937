package slimta

import (
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luafs"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/disk"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/redis"
	lua "github.com/yuin/gopher-lua"
)

// QueueNativeModule is an internal module of slimta.queue.
const QueueNativeModule = "slimta.queue.native"

// PreloadStorage registers the Go-backed storage engines in L:
// slimta.storage.disk, slimta.storage.redis and the redis engine's
// internal driver and session modules, plus slimta.queue's internal
// helper. (slimta.storage.memory and slimta.queue are plain Lua and come
// with the embedded sources.) Preload should call it; until it does,
// embedders and tests call it after slimta.Preload.
func PreloadStorage(L *lua.LState) {
	luafs.Register(L, disk.ModuleName, disk.Loader)
	luafs.Register(L, redis.ModuleName, redis.Loader)
	luafs.Register(L, redis.DriverModuleName, redis.DriverLoader)
	luafs.Register(L, redis.SessionModuleName, redis.SessionLoader)
	luafs.Register(L, QueueNativeModule, openQueueNative)
}

// openQueueNative: thread_alive(co) tells whether a ratchet thread is
// still running (coroutine.status cannot tell a finished or killed ratchet
// thread from a live one). The queue's lock keeper uses it to stop
// refreshing the locks of a job that was killed.
func openQueueNative(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"thread_alive": func(L *lua.LState) int {
			co, ok := L.Get(1).(*lua.LState)
			if !ok {
				L.Push(lua.LFalse)
				return 1
			}
			t := kernel.ThreadOf(L, co)
			L.Push(lua.LBool(t != nil && t.Live()))
			return 1
		},
	}))
	return 1
}
