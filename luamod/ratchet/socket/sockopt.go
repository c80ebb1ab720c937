package socket

import (
	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

type optKind uint8

const (
	optBool optKind = iota
	optInteger
	optString
	optLinger
	optTimeval
	optCred
)

type sockopt struct {
	level, name int
	kind        optKind
}

// sockopts lists every option of spec 2.4 (all SOL_SOCKET) plus the
// TCP_NODELAY extension. Values go to the kernel unchanged (Linux doubles
// SO_SNDBUF/SO_RCVBUF and clamps them to a minimum).
var sockopts = map[string]sockopt{
	"SO_ACCEPTCONN":   {unix.SOL_SOCKET, unix.SO_ACCEPTCONN, optBool},
	"SO_BINDTODEVICE": {unix.SOL_SOCKET, unix.SO_BINDTODEVICE, optString},
	"SO_BROADCAST":    {unix.SOL_SOCKET, unix.SO_BROADCAST, optInteger},
	"SO_BSDCOMPAT":    {unix.SOL_SOCKET, unix.SO_BSDCOMPAT, optBool},
	"SO_DEBUG":        {unix.SOL_SOCKET, unix.SO_DEBUG, optBool},
	"SO_DOMAIN":       {unix.SOL_SOCKET, unix.SO_DOMAIN, optInteger},
	"SO_ERROR":        {unix.SOL_SOCKET, unix.SO_ERROR, optInteger},
	"SO_DONTROUTE":    {unix.SOL_SOCKET, unix.SO_DONTROUTE, optBool},
	"SO_KEEPALIVE":    {unix.SOL_SOCKET, unix.SO_KEEPALIVE, optBool},
	"SO_LINGER":       {unix.SOL_SOCKET, unix.SO_LINGER, optLinger},
	"SO_OOBINLINE":    {unix.SOL_SOCKET, unix.SO_OOBINLINE, optBool},
	"SO_PASSCRED":     {unix.SOL_SOCKET, unix.SO_PASSCRED, optBool},
	"SO_PEERCRED":     {unix.SOL_SOCKET, unix.SO_PEERCRED, optCred},
	"SO_PRIORITY":     {unix.SOL_SOCKET, unix.SO_PRIORITY, optInteger},
	"SO_PROTOCOL":     {unix.SOL_SOCKET, unix.SO_PROTOCOL, optInteger},
	"SO_RCVBUF":       {unix.SOL_SOCKET, unix.SO_RCVBUF, optInteger},
	"SO_RCVBUFFORCE":  {unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, optInteger},
	"SO_RCVLOWAT":     {unix.SOL_SOCKET, unix.SO_RCVLOWAT, optInteger},
	"SO_SNDLOWAT":     {unix.SOL_SOCKET, unix.SO_SNDLOWAT, optInteger},
	"SO_RCVTIMEO":     {unix.SOL_SOCKET, unix.SO_RCVTIMEO, optTimeval},
	"SO_SNDTIMEO":     {unix.SOL_SOCKET, unix.SO_SNDTIMEO, optTimeval},
	"SO_REUSEADDR":    {unix.SOL_SOCKET, unix.SO_REUSEADDR, optBool},
	"SO_SNDBUF":       {unix.SOL_SOCKET, unix.SO_SNDBUF, optInteger},
	"SO_SNDBUFFORCE":  {unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, optInteger},
	"SO_TIMESTAMP":    {unix.SOL_SOCKET, unix.SO_TIMESTAMP, optBool},
	"SO_TYPE":         {unix.SOL_SOCKET, unix.SO_TYPE, optInteger},
	"TCP_NODELAY":     {unix.IPPROTO_TCP, unix.TCP_NODELAY, optBool},
}

// getsockopt(name): unknown names give nil.
func sockGetopt(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.getsockopt")
	name := checkString(L, 2, "ratchet.socket.getsockopt")
	opt, ok := sockopts[name]
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	const fn = "ratchet.socket.getsockopt()"
	fd := s.fd
	fail := func(err error) { kernel.RaiseErrno(L, fn, "getsockopt", err) }
	switch opt.kind {
	case optBool, optInteger:
		v, err := unix.GetsockoptInt(fd, opt.level, opt.name)
		if err != nil {
			fail(err)
		}
		if opt.kind == optBool {
			L.Push(lua.LBool(v != 0))
		} else {
			L.Push(lua.LNumber(v))
		}
	case optString:
		v, err := unix.GetsockoptString(fd, opt.level, opt.name)
		if err != nil {
			fail(err)
		}
		for len(v) > 0 && v[len(v)-1] == 0 {
			v = v[:len(v)-1]
		}
		L.Push(lua.LString(v))
	case optLinger:
		v, err := unix.GetsockoptLinger(fd, opt.level, opt.name)
		if err != nil {
			fail(err)
		}
		t := L.CreateTable(0, 2)
		t.RawSetString("l_onoff", lua.LBool(v.Onoff != 0))
		t.RawSetString("l_linger", lua.LNumber(v.Linger))
		L.Push(t)
	case optTimeval:
		v, err := unix.GetsockoptTimeval(fd, opt.level, opt.name)
		if err != nil {
			fail(err)
		}
		t := L.CreateTable(0, 2)
		t.RawSetString("tv_sec", lua.LNumber(v.Sec))
		t.RawSetString("tv_usec", lua.LNumber(v.Usec))
		L.Push(t)
	case optCred:
		v, err := unix.GetsockoptUcred(fd, opt.level, opt.name)
		if err != nil {
			fail(err)
		}
		t := L.CreateTable(0, 3)
		t.RawSetString("pid", lua.LNumber(v.Pid))
		t.RawSetString("uid", lua.LNumber(v.Uid))
		t.RawSetString("gid", lua.LNumber(v.Gid))
		L.Push(t)
	}
	return 1
}

// setsockopt(name, value): unknown names raise a plain error (defect 4.9).
func sockSetopt(L *lua.LState) int {
	const fname = "ratchet.socket.setsockopt"
	s := Check(L, 1, fname)
	name := checkString(L, 2, fname)
	opt, ok := sockopts[name]
	if !ok || opt.kind == optCred {
		L.RaiseError("unknown socket option: %s", name)
	}
	fd := s.fd
	var err error
	switch opt.kind {
	case optBool:
		v := 0
		if lua.LVAsBool(L.Get(3)) {
			v = 1
		}
		err = unix.SetsockoptInt(fd, opt.level, opt.name, v)
	case optInteger:
		err = unix.SetsockoptInt(fd, opt.level, opt.name, int(checkNumber(L, 3, fname)))
	case optString:
		err = unix.SetsockoptString(fd, opt.level, opt.name, checkString(L, 3, fname))
	case optLinger:
		t := checkTable(L, 3, fname)
		l := unix.Linger{Linger: int32(lua.LVAsNumber(t.RawGetString("l_linger")))}
		if lua.LVAsBool(t.RawGetString("l_onoff")) {
			l.Onoff = 1
		}
		err = unix.SetsockoptLinger(fd, opt.level, opt.name, &l)
	case optTimeval:
		t := checkTable(L, 3, fname)
		tv := unix.Timeval{Sec: int64(lua.LVAsNumber(t.RawGetString("tv_sec"))), Usec: int64(lua.LVAsNumber(t.RawGetString("tv_usec")))}
		err = unix.SetsockoptTimeval(fd, opt.level, opt.name, &tv)
	}
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.setsockopt()", "setsockopt", err)
	}
	return 0
}
