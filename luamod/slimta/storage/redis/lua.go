package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	lua "github.com/yuin/gopher-lua"
)

// Module names registered by Preload.
const (
	ModuleName        = "slimta.storage.redis"
	DriverModuleName  = "slimta.storage.redis.driver"
	SessionModuleName = "slimta.storage.redis.session"
)

// binding: connect() returns a new session object sharing the engine's
// connection pools (go-redis); the engine itself also answers every
// session method, so it may be passed where a session is expected.
var binding = &lstore.Binding{
	Class: "slimta.storage.redis",
	Connect: func(L *lua.LState, h *lstore.Handle) *lstore.Handle {
		return &lstore.Handle{Backend: h.Backend, Session: true, Value: h.Value, AsyncDelete: h.AsyncDelete}
	},
}

func init() {
	binding.Extra = map[string]lua.LGFunction{
		"command": command, "ping": ping,
		"set_async_delete": setAsyncDelete, "sync": syncDeletes,
	}
}

// Loader is the package.preload loader of slimta.storage.redis.
var Loader = lstore.EngineLoader("redis", newEngine)

// DriverLoader is slimta.storage.redis.driver: raw commands with the
// original driver's reply shape, (values_with_n, errors). It returns the
// slimta table with slimta.storage.redis.driver set.
func DriverLoader(L *lua.LState) int {
	core, redisMod := subModule(L)
	d := L.NewTable()
	d.RawSetString("command", L.NewFunction(command))
	redisMod.RawSetString("driver", d)
	L.Push(core)
	return 1
}

// SessionLoader is slimta.storage.redis.session: the session method table.
func SessionLoader(L *lua.LState) int {
	core, redisMod := subModule(L)
	methods, _ := binding.Meta(L).RawGetString("__index").(*lua.LTable)
	redisMod.RawSetString("session", methods)
	L.Push(core)
	return 1
}

func subModule(L *lua.LState) (core, redisMod *lua.LTable) {
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString(ModuleName))
	L.Call(1, 1)
	core, _ = L.Get(-1).(*lua.LTable)
	L.Pop(1)
	_, storage := lstore.Namespace(L)
	redisMod, _ = storage.RawGetString("redis").(*lua.LTable)
	if core == nil || redisMod == nil {
		L.RaiseError("%s did not load", ModuleName)
	}
	return core, redisMod
}

// slimta.storage.redis.new(host [, port=6379] [, offset=0] [, options])
// -> engine. options: {password=, username=, timeout=seconds, pool_size=}.
// No connection is made until the first command.
func newEngine(L *lua.LState) int {
	const fn = "slimta.storage.redis.new"
	cfg := Config{
		Host:   luaarg.CheckString(L, 1, fn),
		Port:   int(luaarg.OptNumber(L, 2, fn, 6379)),
		Offset: int(luaarg.OptNumber(L, 3, fn, 0)),
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		luaarg.ArgError(L, 2, fn, "port out of range")
	}
	if cfg.Offset < 0 || cfg.Offset > 1<<20 {
		luaarg.ArgError(L, 3, fn, "database offset out of range")
	}
	if opts, ok := L.Get(4).(*lua.LTable); ok {
		if v, ok := opts.RawGetString("password").(lua.LString); ok {
			cfg.Password = string(v)
		}
		if v, ok := opts.RawGetString("username").(lua.LString); ok {
			cfg.Username = string(v)
		}
		if v, ok := opts.RawGetString("timeout").(lua.LNumber); ok && v > 0 {
			cfg.Timeout = time.Duration(float64(v) * float64(time.Second))
		}
		if v, ok := opts.RawGetString("pool_size").(lua.LNumber); ok && v > 0 {
			cfg.PoolSize = int(v)
		}
	} else if L.Get(4) != lua.LNil {
		luaarg.ArgError(L, 4, fn, "table expected, got "+luaarg.TypeName(L, 4))
	}
	c := NewClient(cfg)
	binding.Push(L, &lstore.Handle{Backend: c, Shutdown: c.Close, Value: c})
	return 1
}

// engine:set_async_delete(on): with on true, delete_message sends the
// removal without waiting for the server (sessions made afterwards by
// connect() inherit the setting); reads already miss the id. A removal
// that fails brings the message back, to be delivered again: fine for a
// message that was just delivered. sync() and shutdown() wait for them.
func setAsyncDelete(L *lua.LState) int {
	h := binding.Handle(L, "set_async_delete")
	h.AsyncDelete = L.ToBool(2)
	return 0
}

// engine:sync() waits until every delete queued by set_async_delete is
// done.
func syncDeletes(L *lua.LState) int {
	c := binding.Handle(L, "sync").Value.(*Client)
	lstore.Do(L, func(context.Context) { c.WaitDeletes() })
	return 0
}

// engine:ping() -> true, or nil, err.
func ping(L *lua.LState) int {
	c := binding.Handle(L, "ping").Value.(*Client)
	var err error
	lstore.Do(L, func(ctx context.Context) { err = c.Ping(ctx) })
	if err != nil {
		return lstore.Fail(L, err.Error())
	}
	L.Push(lua.LTrue)
	return 1
}

// command(session, [db,] name, args...) -> values_with_n, errors. db is
// the database index relative to the offset (0..3, default 0) when the
// second argument is a number. Replies: status and bulk strings as
// strings, integers as numbers, nil bulk as nil, arrays as tables; a
// server error is returned in full in errors[1].
func command(L *lua.LState) int {
	c := binding.Handle(L, "command").Value.(*Client)
	first := 2
	db := 0
	if n, ok := L.Get(2).(lua.LNumber); ok {
		db, first = int(n), 3
	}
	var args []any
	for i := first; i <= L.GetTop(); i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args = append(args, string(v))
		case lua.LNumber:
			args = append(args, lstore.String(float64(v)))
		case *lua.LNilType:
			args = append(args, "")
		case lua.LBool:
			if v {
				args = append(args, "true")
			} else {
				args = append(args, "")
			}
		default:
			luaarg.ArgError(L, i, "command", "string or number expected, got "+v.Type().String())
		}
	}
	if len(args) == 0 {
		luaarg.ArgError(L, first, "command", "command name expected")
	}
	var reply any
	var err error
	lstore.Do(L, func(ctx context.Context) { reply, err = c.Do(ctx, db, args...) })
	vals := L.NewTable()
	errs := L.NewTable()
	switch {
	case err == goredis.Nil:
		vals.RawSetString("n", lua.LNumber(1))
	case err != nil:
		errs.Append(lua.LString(err.Error()))
		vals.RawSetString("n", lua.LNumber(0))
	default:
		if arr, ok := reply.([]any); ok {
			for i, v := range arr {
				vals.RawSetInt(i+1, replyToLua(L, v))
			}
			vals.RawSetString("n", lua.LNumber(len(arr)))
		} else {
			vals.RawSetInt(1, replyToLua(L, reply))
			vals.RawSetString("n", lua.LNumber(1))
		}
	}
	L.Push(vals)
	L.Push(errs)
	return 2
}

func replyToLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case []any:
		t := L.CreateTable(len(x), 1)
		for i, e := range x {
			t.RawSetInt(i+1, replyToLua(L, e))
		}
		t.RawSetString("n", lua.LNumber(len(x)))
		return t
	case error:
		return lua.LString(x.Error())
	}
	return lua.LString(fmt.Sprint(v))
}
