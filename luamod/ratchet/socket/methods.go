package socket

import (
	"os"
	"unsafe"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// trace calls the tracer, if any, as fn(event [, detail]).
func (s *Socket) trace(L *lua.LState, ev string, detail ...lua.LValue) {
	if s.tracer == nil {
		return
	}
	L.Push(s.tracer)
	L.Push(lua.LString(ev))
	for _, d := range detail {
		L.Push(d)
	}
	L.Call(1+len(detail), 0)
}

func sockGetFD(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.get_fd")
	L.Push(lua.LNumber(s.fd))
	return 1
}

func sockGetTimeout(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.get_timeout")
	L.Push(lua.LNumber(s.timeoutNum))
	return 1
}

func sockSetTimeout(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.set_timeout")
	f := checkNumber(L, 2, "ratchet.socket.set_timeout")
	s.timeoutNum = f
	s.timeout = seconds(f)
	return 0
}

func sockSetTracer(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.set_tracer")
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
		s.tracer = nil
	default:
		s.tracer = v
	}
	return 0
}

func sockBind(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.bind")
	a := checkAddr(L, 2, "ratchet.socket.bind")
	if ua, ok := a.SA.(*unix.SockaddrUnix); ok && ua.Name != "" && ua.Name[0] != '@' {
		// Replace a stale socket file, never another kind of file (defect 4.13).
		if st, err := os.Lstat(ua.Name); err == nil && st.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(ua.Name)
		}
	}
	if err := unix.Bind(s.fd, a.SA); err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.bind()", "bind", err)
	}
	s.trace(L, "bind", L.Get(2))
	L.Push(lua.LTrue)
	return 1
}

func sockListen(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.listen")
	backlog := optInt(L, 2, "ratchet.socket.listen", unix.SOMAXCONN)
	if err := unix.Listen(s.fd, backlog); err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.listen()", "listen", err)
	}
	s.trace(L, "listen")
	L.Push(lua.LTrue)
	return 1
}

func accept4(fd int) (int, unix.Sockaddr, error) {
	for {
		nfd, sa, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		return nfd, sa, err
	}
}

// Accept waits for a connection and returns the new socket and the peer
// address. Failures raise ratchet errors.
func (s *Socket) Accept(L *lua.LState) (*Socket, unix.Sockaddr) {
	const fn = "ratchet.socket.accept()"
	if s.fd < 0 {
		kernel.RaiseErrno(L, fn, "accept", unix.EBADF)
	}
	nfd, sa, err := accept4(s.fd)
	if err == unix.EAGAIN {
		werr := s.wait(L, false, func(fd int) bool {
			nfd, sa, err = accept4(fd)
			return err != unix.EAGAIN
		})
		if werr != nil {
			raiseWait(L, werr, fn, "accept", "accept")
		}
	}
	if err != nil {
		kernel.RaiseErrno(L, fn, "accept", err)
	}
	ns, err := newSocket(L, nfd, s.family, s.stype, s.proto)
	if err != nil {
		_ = unix.Close(nfd)
		kernel.RaiseErrno(L, fn, "accept", err)
	}
	if sa == nil {
		sa = &unix.SockaddrUnix{}
	}
	return ns, sa
}

func sockAccept(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.accept")
	ns, sa := s.Accept(L)
	Push(L, ns)
	addr := PushAddr(L, sa)
	if s.tracer != nil {
		s.trace(L, "accept", lua.LString(addr.Value.(*Addr).String()))
	}
	return 2
}

// Connect connects to sa, suspending until the connection completes.
func (s *Socket) Connect(L *lua.LState, sa unix.Sockaddr) {
	const fn = "ratchet.socket.connect()"
	if s.fd < 0 {
		kernel.RaiseErrno(L, fn, "connect", unix.EBADF)
	}
	err := unix.Connect(s.fd, sa)
	for err == unix.EINTR {
		// The connect continues in the background: wait like EINPROGRESS.
		err = unix.EINPROGRESS
	}
	switch err {
	case nil:
		return
	case unix.EINPROGRESS:
	default:
		kernel.RaiseErrno(L, fn, "connect", err)
	}
	// A loopback connect is usually complete already: finishing it without
	// suspending keeps connecting threads in attach order, as the original's
	// single poll did (test_socket_multi_recv relies on c1 sending first).
	if !pollReady(s.fd, true) {
		werr := s.wait(L, true, func(fd int) bool { return pollReady(fd, true) })
		if werr != nil {
			raiseWait(L, werr, fn, "connect", "connect")
		}
	}
	soerr, gerr := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if gerr != nil {
		kernel.RaiseErrno(L, fn, "connect", gerr)
	}
	if soerr != 0 {
		kernel.RaiseErrno(L, fn, "connect", unix.Errno(soerr))
	}
}

func sockConnect(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.connect")
	a := checkAddr(L, 2, "ratchet.socket.connect")
	s.Connect(L, a.SA)
	if s.tracer != nil {
		s.trace(L, "connect", lua.LString(a.String()))
	}
	return 0
}

func sockSend(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.send")
	data := checkString(L, 2, "ratchet.socket.send")
	// The bytes are only read: no copy of the Lua string.
	bytes := unsafe.Slice(unsafe.StringData(data), len(data))
	if s.enc != nil {
		s.enc.Write(L, bytes)
		if s.tracer != nil {
			s.trace(L, "encrypted send", lua.LString(data))
		}
		return 0
	}
	n := s.sendPlain(L, bytes, "ratchet.socket.send()")
	if s.tracer != nil {
		s.trace(L, "send", lua.LNumber(n))
	}
	if n < len(data) {
		L.Push(lua.LString(data[n:]))
		return 1
	}
	return 0
}

// recvString receives up to maxlen bytes as a Lua string (through TLS
// when encrypted). Threads waiting for data hold no buffer.
func recvString(L *lua.LState, s *Socket, maxlen int) lua.LString {
	if maxlen <= 0 {
		return ""
	}
	maxlen = min(maxlen, maxRecv)
	if s.enc == nil {
		return s.recvString(L, maxlen, "ratchet.socket.recv()")
	}
	if w, ok := s.enc.(interface{ WaitReadable(L *lua.LState) }); ok && !s.Ready(false) {
		w.WaitReadable(L)
	}
	bp := getBuf(maxlen)
	defer putBuf(bp)
	n := s.enc.Read(L, (*bp)[:maxlen])
	return lua.LString((*bp)[:n])
}

func sockRecv(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.recv")
	maxlen := optInt(L, 2, "ratchet.socket.recv", BUFSZ)
	if maxlen < 0 {
		luaarg.ArgError(L, 2, "ratchet.socket.recv", "non-negative size expected")
	}
	data := recvString(L, s, maxlen)
	L.Push(data)
	if s.tracer != nil {
		ev := "recv"
		if s.enc != nil {
			ev = "encrypted recv"
		}
		s.trace(L, ev, data)
	}
	return 1
}

func sockShutdown(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.shutdown")
	how := unix.SHUT_RDWR
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
	case lua.LString:
		switch v {
		case "read":
			how = unix.SHUT_RD
		case "write":
			how = unix.SHUT_WR
		case "both":
		default:
			luaarg.ArgError(L, 2, "ratchet.socket.shutdown", "invalid option '"+string(v)+"'")
		}
	default:
		luaarg.ArgError(L, 2, "ratchet.socket.shutdown", "string expected, got "+luaarg.TypeName(L, 2))
	}
	if err := unix.Shutdown(s.fd, how); err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.shutdown()", "shutdown", err)
	}
	s.trace(L, "shutdown", L.Get(2))
	L.Push(lua.LTrue)
	return 1
}

func sockClose(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.close")
	if s.fd < 0 {
		return 0
	}
	_ = s.Close()
	s.trace(L, "close")
	L.Push(lua.LTrue)
	return 1
}

func sockCheckErrors(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.check_errors")
	v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.check_errors()", "getsockopt", err)
	}
	if v != 0 {
		kernel.RaiseErrno(L, "ratchet.socket.check_errors()", "<unknown>", unix.Errno(v))
	}
	L.Push(lua.LTrue)
	return 1
}

func sockEncrypt(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.encrypt")
	if encryptFn == nil {
		L.RaiseError("ratchet.socket.encrypt(): TLS support (ratchet.ssl) is not available")
	}
	return encryptFn(L, s)
}

func sockGetEncryption(L *lua.LState) int {
	s := Check(L, 1, "ratchet.socket.get_encryption")
	if s.encUD == nil {
		L.Push(lua.LNil)
	} else {
		L.Push(s.encUD)
	}
	return 1
}
