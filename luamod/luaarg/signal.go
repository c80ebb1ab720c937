package luaarg

import (
	"strconv"
	"strings"
	"syscall"

	lua "github.com/yuin/gopher-lua"
)

// signalNames are the names ratchet.thread.sigwait and ratchet.exec's kill
// accept (spec ratchet.md 2.2), in any letter case.
var signalNames = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGILL": syscall.SIGILL, "SIGABRT": syscall.SIGABRT, "SIGFPE": syscall.SIGFPE,
	"SIGKILL": syscall.SIGKILL, "SIGSEGV": syscall.SIGSEGV, "SIGPIPE": syscall.SIGPIPE,
	"SIGALRM": syscall.SIGALRM, "SIGTERM": syscall.SIGTERM, "SIGUSR1": syscall.SIGUSR1,
	"SIGUSR2": syscall.SIGUSR2, "SIGCHLD": syscall.SIGCHLD, "SIGCONT": syscall.SIGCONT,
	"SIGSTOP": syscall.SIGSTOP, "SIGTSTP": syscall.SIGTSTP, "SIGTTIN": syscall.SIGTTIN,
	"SIGTTOU": syscall.SIGTTOU,
}

// CheckSignal reads argument n as a signal number (1..64, numeric strings
// too, as lua_isnumber sees them) or a name, else raises "Invalid signal.".
func CheckSignal(L *lua.LState, n int, fname string) syscall.Signal {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		if v > 0 && v < 65 {
			return syscall.Signal(int(v))
		}
	case lua.LString:
		if s, ok := signalNames[strings.ToUpper(string(v))]; ok {
			return s
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64); err == nil && f >= 1 && f < 65 {
			return syscall.Signal(int(f))
		}
	}
	ArgError(L, n, fname, "Invalid signal.")
	return 0
}
