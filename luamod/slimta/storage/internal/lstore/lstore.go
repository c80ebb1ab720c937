// Package lstore holds what the Go-backed storage engines share: running
// storage I/O inside kernel.Block, the slimta.storage namespace, userdata
// classes, and converting message meta tables between Lua and Go.
package lstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/compat"
	lua "github.com/yuin/gopher-lua"
)

// Do runs fn inside kernel.Block, so only the calling ratchet thread waits
// while other threads keep running. ctx is cancelled when the thread is
// killed or the runtime stops; fn must not touch Lua state.
func Do(L *lua.LState, fn func(ctx context.Context)) {
	kernel.Block(L, func(cancel <-chan struct{}) {
		if cancel == nil {
			fn(context.Background())
			return
		}
		fn(cancelContext{cancel})
	}, nil)
}

// cancelContext is a context.Context done when kernel.Block's cancel
// channel closes. It replaces context.WithCancel plus a watcher goroutine,
// which cost an allocation-heavy goroutine per storage call.
type cancelContext struct{ done <-chan struct{} }

func (c cancelContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c cancelContext) Done() <-chan struct{}       { return c.done }
func (c cancelContext) Value(any) any               { return nil }
func (c cancelContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// Namespace loads the slimta core (require "slimta") and returns it with
// its storage namespace table, created on demand (spec 0.1, 2.1).
func Namespace(L *lua.LState) (core, storage *lua.LTable) {
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString("slimta"))
	L.Call(1, 1)
	core, ok := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if !ok {
		L.RaiseError("require \"slimta\" did not return a table")
	}
	storage, ok = core.RawGetString("storage").(*lua.LTable)
	if !ok {
		storage = L.NewTable()
		core.RawSetString("storage", storage)
	}
	return core, storage
}

// EngineLoader returns the package.preload loader of a storage engine
// module: it sets slimta.storage.<name> = {new = newEngine} and returns
// the slimta table, as the original modules did.
func EngineLoader(name string, newEngine lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		core, storage := Namespace(L)
		mod := L.NewTable()
		mod.RawSetString("new", L.NewFunction(newEngine))
		storage.RawSetString(name, mod)
		L.Push(core)
		return 1
	}
}

// Class returns the metatable registered under name, creating it with
// methods as its __index table on first use.
func Class(L *lua.LState, name string, methods map[string]lua.LGFunction) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(name).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	idx := L.SetFuncs(L.NewTable(), methods)
	mt.RawSetString("__index", idx)
	mt.RawSetString("__metatable", lua.LString(name))
	L.G.Registry.RawSetString(name, mt)
	return mt
}

// Methods returns the __index table of a class made by Class.
func Methods(L *lua.LState, name string) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(name).(*lua.LTable); ok {
		if t, ok := mt.RawGetString("__index").(*lua.LTable); ok {
			return t
		}
	}
	return nil
}

// Check returns the Go value of the userdata at argument n when its
// metatable is the named class, else raises an argument error.
func Check[T any](L *lua.LState, n int, class, fname string) T {
	ud, ok := L.Get(n).(*lua.LUserData)
	if ok {
		if v, ok := ud.Value.(T); ok && ud.Metatable == L.G.Registry.RawGetString(class) {
			return v
		}
	}
	L.RaiseError("bad argument #%d to '%s' (%s expected, got %s)", n, fname, class, L.Get(n).Type().String())
	var zero T
	return zero
}

// New wraps v in a userdata of the named class.
func New(L *lua.LState, v any, class *lua.LTable) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = class
	return ud
}

// Value is one meta entry: a string, a number (float64) or a boolean.
type Value = any

// Meta is a message meta table (spec 3.3): flat, string keys, scalar values.
type Meta map[string]Value

// MetaFromLua converts a Lua meta table. Only string keys and string,
// number or boolean values are storable; anything else is an error rather
// than being dropped silently.
func MetaFromLua(t *lua.LTable) (Meta, error) {
	m := Meta{}
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		ks, ok := k.(lua.LString)
		if !ok {
			err = fmt.Errorf("meta key %s is not a string", k.String())
			return
		}
		gv, ok := ValueFromLua(v)
		if !ok {
			err = fmt.Errorf("meta value for %q is a %s", string(ks), v.Type().String())
			return
		}
		m[string(ks)] = gv
	})
	return m, err
}

// ValueFromLua converts one scalar; ok is false for other types.
func ValueFromLua(v lua.LValue) (Value, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return float64(x), true
	case lua.LBool:
		return bool(x), true
	}
	return nil, false
}

// ValueToLua converts one scalar back (nil gives LNil).
func ValueToLua(v Value) lua.LValue {
	switch x := v.(type) {
	case string:
		return lua.LString(x)
	case float64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	}
	return lua.LNil
}

// MetaToLua builds a new Lua table from m.
func MetaToLua(L *lua.LState, m Meta) *lua.LTable {
	t := L.CreateTable(0, len(m))
	for k, v := range m {
		t.RawSetString(k, ValueToLua(v))
	}
	return t
}

// String formats v as Lua's tostring would (numbers as %.14g).
func String(v Value) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return compat.FormatNumber(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

// Keys returns m's keys sorted, for deterministic output.
func (m Meta) Keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// PushStrings pushes an array of strings with an n field (as table.pack
// would), the shape the original engines returned id lists in.
func PushStrings(L *lua.LState, list []string) {
	t := L.CreateTable(len(list), 1)
	for _, s := range list {
		t.Append(lua.LString(s))
	}
	t.RawSetString("n", lua.LNumber(len(list)))
	L.Push(t)
}

// Fail returns nil, msg (the storage API's soft error form).
func Fail(L *lua.LState, msg string) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(msg))
	return 2
}
