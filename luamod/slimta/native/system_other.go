//go:build !linux

package native

import lua "github.com/yuin/gopher-lua"

// The process helpers rely on Linux descriptor and credential semantics
// (and /proc/self/exe for daemonize); elsewhere they raise.

func redirectStdio(L *lua.LState) int {
	L.RaiseError("slimta.redirect_stdio() is only supported on Linux")
	return 0
}

func daemonize(L *lua.LState) int {
	L.RaiseError("slimta.daemonize() is only supported on Linux")
	return 0
}

func dropPrivileges(L *lua.LState) int {
	L.RaiseError("slimta.drop_privileges() is only supported on Linux")
	return 0
}
