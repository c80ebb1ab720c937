package compat

import (
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// stdLibs are registered in package.loaded so that require "string" etc.
// return them. gopher-lua's OpenPackage replaces the loaded table after
// registering "package" itself, so require "package" failed.
var stdLibs = []string{"_G", "package", "string", "table", "math", "os", "io", "coroutine", "debug", "bit32"}

func openPackage(L *lua.LState, g *lua.LTable) {
	pkg := libTable(g, "package")
	if pkg == nil {
		return
	}
	pkg.RawSetString("searchpath", L.NewFunction(pkgSearchpath))
	if loaders, ok := pkg.RawGetString("loaders").(*lua.LTable); ok && pkg.RawGetString("searchers") == lua.LNil {
		pkg.RawSetString("searchers", loaders) // the same table: changes to either are seen by require
	}
	loaded, ok := pkg.RawGetString("loaded").(*lua.LTable)
	if !ok {
		return
	}
	for _, name := range stdLibs {
		if loaded.RawGetString(name) != lua.LNil {
			continue
		}
		if t, ok := g.RawGetString(name).(*lua.LTable); ok {
			loaded.RawSetString(name, t)
		}
	}
	if reg, ok := L.Get(lua.RegistryIndex).(*lua.LTable); ok {
		if rl, ok := reg.RawGetString("_LOADED").(*lua.LTable); ok && rl != loaded {
			for _, name := range stdLibs {
				if rl.RawGetString(name) == lua.LNil {
					rl.RawSetString(name, loaded.RawGetString(name))
				}
			}
		}
	}
}

// pkgSearchpath is 5.2's package.searchpath(name, path [, sep [, rep]]).
func pkgSearchpath(L *lua.LState) int {
	name := checkString(L, 1)
	path := checkString(L, 2)
	sep := optString(L, 3, ".")
	rep := optString(L, 4, string(os.PathSeparator))
	if sep != "" {
		name = strings.ReplaceAll(name, sep, rep)
	}
	var msg strings.Builder
	for _, tmpl := range strings.Split(path, ";") {
		if tmpl == "" {
			continue
		}
		file := strings.ReplaceAll(tmpl, "?", name)
		if f, err := os.Open(file); err == nil {
			f.Close()
			L.Push(lua.LString(file))
			return 1
		}
		msg.WriteString("\n\tno file '")
		msg.WriteString(file)
		msg.WriteString("'")
	}
	L.Push(lua.LNil)
	L.Push(lua.LString(msg.String()))
	return 2
}
