package disk

import (
	"context"

	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	lua "github.com/yuin/gopher-lua"
)

// ModuleName is the require name of the Lua module.
const ModuleName = "slimta.storage.disk"

// binding: connect() returns the engine itself, as slimta.storage.memory
// does, so code may pass an engine where a session is expected; all state
// lives in the shared *Store.
var binding = &lstore.Binding{Class: "slimta.storage.disk"}

func init() {
	binding.Extra = map[string]lua.LGFunction{
		"stats":    stats,
		"get_path": getPath,
		"sync":     syncStore,

		"set_async_delete": setAsyncDelete,
	}
}

// Loader is the package.preload loader of slimta.storage.disk: it sets
// slimta.storage.disk = {new = ...} and returns the slimta table.
var Loader = lstore.EngineLoader("disk", newEngine)

// slimta.storage.disk.new(dir) -> engine. The directory is created if
// needed; engines on the same directory share one open store.
func newEngine(L *lua.LState) int {
	dir := luaarg.CheckString(L, 1, "slimta.storage.disk.new")
	if dir == "" {
		luaarg.ArgError(L, 1, "slimta.storage.disk.new", "directory path expected")
	}
	var s *Store
	var err error
	lstore.Do(L, func(context.Context) { s, err = Acquire(dir) })
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	// Reads come from bbolt's memory map and locks live in memory: Inline
	// runs them without a kernel.Block hand-off.
	binding.Push(L, &lstore.Handle{Backend: s, Shutdown: s.Release, Value: s, Inline: true})
	return 1
}

// engine:stats() -> commits, write operations. Every commit is one
// fsync'd transaction; ops/commits is the group-commit factor.
func stats(L *lua.LState) int {
	s := binding.Handle(L, "stats").Value.(*Store)
	c, o := s.Stats()
	L.Push(lua.LNumber(c))
	L.Push(lua.LNumber(o))
	return 2
}

func getPath(L *lua.LState) int {
	L.Push(lua.LString(binding.Handle(L, "get_path").Value.(*Store).Path()))
	return 1
}

// engine:sync() waits until every write queued so far is on disk (lock
// bookkeeping is written without waiting).
func syncStore(L *lua.LState) int {
	s := binding.Handle(L, "sync").Value.(*Store)
	var err error
	lstore.Do(L, func(ctx context.Context) { err = s.Sync(ctx) })
	if err != nil {
		L.RaiseError("sync: %s", err.Error())
	}
	return 0
}

// engine:set_async_delete(on): with on true, delete_message queues the
// removal and returns at once instead of waiting for its fsync; later
// reads already miss the id. A crash before the write lands brings the
// message back, to be delivered again (at-least-once; acceptable for a
// message that was just delivered, not for one that was just accepted,
// which is why stores always wait). sync() and shutdown() wait for queued
// deletes.
func setAsyncDelete(L *lua.LState) int {
	h := binding.Handle(L, "set_async_delete")
	h.AsyncDelete = L.ToBool(2)
	return 0
}
