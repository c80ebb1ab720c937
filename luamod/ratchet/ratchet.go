// Package ratchet builds the Lua module "ratchet": the kernel constructor,
// ratchet.thread and ratchet.error, the native submodules registered by the
// packages under luamod/ratchet/, and the pure-Lua modules embedded from lua/.
package ratchet

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/luafs"
	lua "github.com/yuin/gopher-lua"
)

// Version is ratchet.version (the SMTP server banner embeds it).
const Version = "0.8.2"

//go:embed lua
var luaFiles embed.FS

// LuaFS is the tree of embedded ratchet Lua sources (ratchet/...).
var LuaFS, _ = fs.Sub(luaFiles, "lua")

// Submodule opens one native submodule (ratchet.socket, ratchet.dns...).
// It returns the table stored as ratchet.<name> and in package.loaded.
type Submodule func(L *lua.LState) *lua.LTable

type subEntry struct {
	name string
	open Submodule
}

var submodules []subEntry

// RegisterSubmodule adds a native submodule; packages call it from init.
// A dotted name ("dns.hosts") is stored under its parent table.
func RegisterSubmodule(name string, open Submodule) {
	submodules = append(submodules, subEntry{name, open})
}

var internals []subEntry

// RegisterInternal adds a native module reachable only through require
// (full name, e.g. "ratchet.bus.native"); packages call it from init.
func RegisterInternal(name string, open Submodule) {
	internals = append(internals, subEntry{name, open})
}

// Preload makes require "ratchet" and the pure-Lua ratchet.* modules
// available in L.
func Preload(L *lua.LState) {
	luafs.Preload(L, LuaFS)
	for _, s := range internals {
		open := s.open
		luafs.Register(L, s.name, func(L *lua.LState) int {
			L.Push(open(L))
			return 1
		})
	}
	luafs.Register(L, "ratchet", openRatchet)
	// require "ratchet.error" etc. load the parent first, which fills
	// package.loaded with every native submodule.
	names := []string{"ratchet.error"}
	for _, s := range submodules {
		names = append(names, "ratchet."+s.name)
	}
	for _, n := range names {
		name := n
		luafs.Register(L, name, func(L *lua.LState) int {
			L.Push(L.GetGlobal("require"))
			L.Push(lua.LString("ratchet"))
			L.Call(1, 0)
			L.Push(L.GetField(L.GetField(L.GetGlobal("package"), "loaded"), name))
			return 1
		})
	}
}

func openRatchet(L *lua.LState) int {
	loaded := L.GetField(L.GetGlobal("package"), "loaded").(*lua.LTable)
	r := L.NewTable()
	L.SetGlobal("ratchet", r)
	loaded.RawSetString("ratchet", r)
	r.RawSetString("version", lua.LString(Version))
	r.RawSetString("new", L.NewFunction(kernelNew))
	r.RawSetString("stackdump", L.NewFunction(stackdump))
	r.RawSetString("thread", openThread(L))
	errT := openError(L)
	r.RawSetString("error", errT)
	loaded.RawSetString("ratchet.error", errT)

	subs := append([]subEntry(nil), submodules...)
	// Parents before children ("dns" before "dns.hosts").
	sort.SliceStable(subs, func(i, j int) bool {
		return strings.Count(subs[i].name, ".") < strings.Count(subs[j].name, ".")
	})
	for _, s := range subs {
		t := s.open(L)
		parent := r
		parts := strings.Split(s.name, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := parent.RawGetString(p).(*lua.LTable)
			if !ok {
				next = L.NewTable()
				parent.RawSetString(p, next)
			}
			parent = next
		}
		parent.RawSetString(parts[len(parts)-1], t)
		loaded.RawSetString("ratchet."+s.name, t)
	}
	L.Push(r)
	return 1
}

// stackdump prints the caller's Lua stack to stdout (a debugging aid).
func stackdump(L *lua.LState) int {
	var b strings.Builder
	b.WriteString("stack dump:\n")
	for lvl := 1; ; lvl++ {
		dbg, ok := L.GetStack(lvl)
		if !ok {
			break
		}
		_, _ = L.GetInfo("Sln", dbg, lua.LNil)
		fmt.Fprintf(&b, "\t%s:%d: %s\n", dbg.Source, dbg.CurrentLine, dbg.Name)
	}
	fmt.Fprintf(&b, "\ttop=%d\n", L.GetTop())
	_, _ = os.Stdout.WriteString(b.String())
	return 0
}

// ---- kernel object ----

const kernelMeta = "ratchet.kernel"

func kernelNew(L *lua.LState) int {
	entry := L.Get(1)
	if L.GetTop() < 1 {
		luaarg.ArgError(L, 1, "ratchet.new", "value expected")
	}
	checkCallable(L, 1, "ratchet.new", entry)
	handler := L.Get(2)
	if handler != lua.LNil {
		checkCallable(L, 2, "ratchet.new", handler)
	}
	k := kernel.New(L, entry, handler)
	ud := L.NewUserData()
	ud.Value = k
	L.SetMetatable(ud, kernelMetatable(L))
	L.Push(ud)
	return 1
}

func kernelMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(kernelMeta).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"loop": func(L *lua.LState) int {
			checkKernel(L).Loop(L)
			return 0
		},
		"loop_once": func(L *lua.LState) int {
			k := checkKernel(L)
			L.Push(lua.LBool(k.LoopOnce(L, lua.LVAsBool(L.Get(2)))))
			return 1
		},
		"break": func(L *lua.LState) int {
			checkKernel(L).Break()
			return 0
		},
		"get_num_threads": func(L *lua.LState) int {
			L.Push(lua.LNumber(checkKernel(L).NumThreads()))
			return 1
		},
		"get_method": func(L *lua.LState) int {
			L.Push(lua.LString("epoll"))
			return 1
		},
		"get_space": func(L *lua.LState) int {
			checkKernel(L)
			co := L.CheckThread(2)
			t := kernel.ThreadOf(L, co)
			if t == nil {
				// Not a thread of a kernel (any more): nothing to keep.
				if def := L.Get(3); def != lua.LNil {
					L.Push(def)
				} else {
					L.Push(L.NewTable())
				}
				return 1
			}
			L.Push(t.Space(L, L.Get(3)))
			return 1
		},
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("ratchet kernel: %p", L.CheckUserData(1).Value)))
		return 1
	}))
	L.G.Registry.RawSetString(kernelMeta, mt)
	return mt
}

func checkKernel(L *lua.LState) *kernel.Kernel {
	ud := L.CheckUserData(1)
	k, ok := ud.Value.(*kernel.Kernel)
	if !ok {
		L.ArgError(1, "ratchet kernel expected")
	}
	return k
}

// checkCallable raises a clear argument error for values that cannot be called.
func checkCallable(L *lua.LState, n int, fname string, v lua.LValue) {
	if isCallable(L, v) {
		return
	}
	luaarg.ArgError(L, n, fname, "function or callable object expected, got "+luaarg.TypeName(L, n))
}

func isCallable(L *lua.LState, v lua.LValue) bool {
	if _, ok := v.(*lua.LFunction); ok {
		return true
	}
	if v == lua.LNil {
		return false
	}
	return L.GetMetaField(v, "__call") != lua.LNil
}
