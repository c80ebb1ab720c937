// Package luafs registers Lua sources embedded in Go binaries as
// package.preload entries, compiling each file once per process.
package luafs

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// ModuleName maps a file path inside the embedded tree to its require name:
// "ratchet/bus/init.lua" -> "ratchet.bus", "slimta/xml/writer.lua" -> "slimta.xml.writer".
func ModuleName(p string) string {
	p = strings.TrimSuffix(p, ".lua")
	p = strings.TrimSuffix(p, "/init")
	return strings.ReplaceAll(p, "/", ".")
}

// protoCache shares compiled prototypes between all states of the process;
// FunctionProto is immutable once compiled, so this is safe.
var protoCache sync.Map // key: fs pointer + path -> *lua.FunctionProto

type cacheKey struct {
	fsys fs.FS
	path string
}

// Compile parses and compiles one embedded file (cached).
func Compile(fsys fs.FS, p string) (*lua.FunctionProto, error) {
	key := cacheKey{fsys, p}
	if v, ok := protoCache.Load(key); ok {
		return v.(*lua.FunctionProto), nil
	}
	src, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	chunk, err := parse.Parse(strings.NewReader(string(src)), p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	proto, err := lua.Compile(chunk, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	protoCache.Store(key, proto)
	return proto, nil
}

// Preload walks fsys and registers every .lua file in package.preload under
// its module name. Loading a module calls the chunk with the module name as
// its first argument, as require does for files on disk.
func Preload(L *lua.LState, fsys fs.FS) {
	preload := L.GetField(L.GetGlobal("package"), "preload")
	pt, ok := preload.(*lua.LTable)
	if !ok {
		return
	}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".lua" {
			return nil
		}
		name := ModuleName(p)
		file := p
		pt.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			proto, err := Compile(fsys, file)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			fn := L.NewFunctionFromProto(proto)
			L.Push(fn)
			L.Push(lua.LString(name))
			L.Call(1, 1)
			return 1
		}))
		return nil
	})
}

// Register sets package.preload[name] to a Go loader.
func Register(L *lua.LState, name string, loader lua.LGFunction) {
	pt, ok := L.GetField(L.GetGlobal("package"), "preload").(*lua.LTable)
	if ok {
		pt.RawSetString(name, L.NewFunction(loader))
	}
}
