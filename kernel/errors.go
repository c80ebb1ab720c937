package kernel

import (
	"errors"
	"syscall"

	lua "github.com/yuin/gopher-lua"
)

// Error describes a ratchet.error object (spec ratchet.md 2.3).
type Error struct {
	Description string
	Code        string // "" = nil
	Function    string // "" = nil
	File        string // "" = nil
	Line        int    // 0 = nil
	Syscall     string // "" = nil
	Errno       int    // 0 = nil
}

const errorMetaKey = "ratchet.error.meta"

// ErrorMeta returns the shared metatable of ratchet.error objects, creating
// it on first use. The ratchet.error module fills in its methods.
func ErrorMeta(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(errorMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	L.G.Registry.RawSetString(errorMetaKey, mt)
	return mt
}

// NewError builds a ratchet.error object. Its thread field is the running
// ratchet thread (nil in main).
func NewError(L *lua.LState, e Error) *lua.LTable {
	t := L.CreateTable(0, 9)
	t.RawSetString("type", lua.LString("ratchet_error"))
	t.RawSetString("description", lua.LString(e.Description))
	setStr := func(k, v string) {
		if v != "" {
			t.RawSetString(k, lua.LString(v))
		}
	}
	setStr("code", e.Code)
	setStr("function", e.Function)
	setStr("file", e.File)
	setStr("syscall", e.Syscall)
	if e.Line != 0 {
		t.RawSetString("line", lua.LNumber(e.Line))
	}
	if e.Errno != 0 {
		t.RawSetString("errno", lua.LNumber(e.Errno))
	}
	if th := CurrentCoroutine(L); th != nil {
		t.RawSetString("thread", th)
	}
	L.SetMetatable(t, ErrorMeta(L))
	return t
}

// Raise raises a ratchet.error object in L. It does not return.
func Raise(L *lua.LState, e Error) {
	L.Error(NewError(L, e), 0)
}

// errnoNames lists the errno values that get a symbolic code; later names
// win where values alias (EAGAIN/EWOULDBLOCK, EOPNOTSUPP/ENOTSUP).
var errnoNames = map[syscall.Errno]string{
	syscall.EACCES: "EACCES", syscall.EAFNOSUPPORT: "EAFNOSUPPORT", syscall.EINVAL: "EINVAL",
	syscall.EMFILE: "EMFILE", syscall.ENFILE: "ENFILE", syscall.ENOBUFS: "ENOBUFS",
	syscall.ENOMEM: "ENOMEM", syscall.EPROTONOSUPPORT: "EPROTONOSUPPORT",
	syscall.EWOULDBLOCK: "EWOULDBLOCK", syscall.EBADF: "EBADF", syscall.ECONNABORTED: "ECONNABORTED",
	syscall.EFAULT: "EFAULT", syscall.EINTR: "EINTR", syscall.ENOTSOCK: "ENOTSOCK",
	syscall.EPROTO: "EPROTO", syscall.EPERM: "EPERM", syscall.EADDRINUSE: "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.ELOOP: "ELOOP", syscall.ENAMETOOLONG: "ENAMETOOLONG",
	syscall.ENOENT: "ENOENT", syscall.ENOTDIR: "ENOTDIR", syscall.EROFS: "EROFS",
	syscall.EALREADY: "EALREADY", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EINPROGRESS: "EINPROGRESS",
	syscall.EISCONN: "EISCONN", syscall.ENETUNREACH: "ENETUNREACH", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.ECONNRESET: "ECONNRESET", syscall.EDESTADDRREQ: "EDESTADDRREQ", syscall.EMSGSIZE: "EMSGSIZE",
	syscall.ENOTCONN: "ENOTCONN", syscall.EPIPE: "EPIPE", syscall.ENODEV: "ENODEV",
	syscall.ENOTSUP: "ENOTSUP",
}

// ErrnoCode returns the symbolic code for errno, or "" when the spec gives none.
func ErrnoCode(errno syscall.Errno) string { return errnoNames[errno] }

// ErrnoError converts an OS error into an Error (description = strerror text).
// Errors that carry no errno get only the description.
func ErrnoError(fn, sysc string, err error) Error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return Error{Description: Strerror(en), Code: ErrnoCode(en), Function: fn, Syscall: sysc, Errno: int(en)}
	}
	return Error{Description: err.Error(), Function: fn, Syscall: sysc}
}

// RaiseErrno raises the ratchet.error for an OS failure of syscall sysc in function fn.
func RaiseErrno(L *lua.LState, fn, sysc string, err error) {
	Raise(L, ErrnoError(fn, sysc, err))
}

// RaiseTimeout raises ETIMEDOUT "Timed out on <what>." from function fn.
func RaiseTimeout(L *lua.LState, fn, what string) {
	Raise(L, Error{Description: "Timed out on " + what + ".", Code: "ETIMEDOUT", Function: fn})
}

// Strerror gives the C library's wording for errno: Go's table is glibc's
// text with the first letter lowered ("connection refused").
func Strerror(en syscall.Errno) string {
	s := en.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
