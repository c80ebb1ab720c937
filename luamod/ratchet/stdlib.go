package ratchet

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
)

// WrapBlockingStdlib replaces standard functions that would block the whole
// kernel (they wait while holding the baton) with versions that suspend
// only the calling ratchet thread. os.execute follows Lua 5.2: it returns
// true|nil, "exit"|"signal", code.
func WrapBlockingStdlib(L *lua.LState) {
	osT, ok := L.GetGlobal("os").(*lua.LTable)
	if !ok {
		return
	}
	osT.RawSetString("execute", L.NewFunction(osExecute))
}

func osExecute(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		_, err := os.Stat("/bin/sh")
		L.Push(lua.LBool(err == nil))
		return 1
	}
	cmdline := L.CheckString(1)
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var err error
	kernel.Block(L, func(cancel <-chan struct{}) {
		if err = cmd.Start(); err != nil {
			return
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-cancel:
			_ = cmd.Process.Kill()
			err = <-done
		}
	}, nil)
	var ee *exec.ExitError
	switch {
	case err == nil:
		L.Push(lua.LTrue)
		L.Push(lua.LString("exit"))
		L.Push(lua.LNumber(0))
	case errors.As(err, &ee):
		L.Push(lua.LNil)
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			L.Push(lua.LString("signal"))
			L.Push(lua.LNumber(int(ws.Signal())))
		} else {
			L.Push(lua.LString("exit"))
			L.Push(lua.LNumber(ee.ExitCode()))
		}
	default:
		L.Push(lua.LNil)
		L.Push(lua.LString("exit"))
		L.Push(lua.LNumber(127))
	}
	return 3
}
