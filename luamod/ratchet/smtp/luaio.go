package smtp

import (
	"strings"
	"unsafe"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
)

// ioKey is the private table key under which an smtp_io object keeps its
// Go state (a userdata key cannot collide with Lua code's string keys).
var ioKey = &lua.LUserData{}

const ioMetaKey = "ratchet.smtp.smtp_io.meta"

// OpenIO builds the ratchet.smtp.smtp_io module: the class table with new()
// and the methods. An instance is a table {socket = ...}; its recv_buffer
// and send_buffer fields are views of the Go buffers.
func OpenIO(L *lua.LState) *lua.LTable {
	m := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"new":            ioNew,
		"buffered_send":  ioBufferedSend,
		"flush_send":     ioFlushSend,
		"buffered_recv":  ioBufferedRecv,
		"recv_line":      ioRecvLine,
		"recv_command":   ioRecvCommand,
		"send_reply":     ioSendReply,
		"send_command":   ioSendCommand,
		"recv_reply":     ioRecvReply,
		"close":          ioClose,
		"server_handle":  serverHandle,
		"server_close":   serverClose,
		"extension_list": extensionList,
		"new_server":     newServerObject,
	})
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		k := L.Get(2)
		if ks, ok := k.(lua.LString); ok {
			switch ks {
			case "recv_buffer":
				if io := ioOf(t); io != nil {
					L.Push(lua.LString(io.Buffered()))
					return 1
				}
			case "send_buffer":
				if io := ioOf(t); io != nil {
					sb := L.NewTable()
					if len(io.out) > 0 {
						sb.Append(lua.LString(io.out))
					}
					L.Push(sb)
					return 1
				}
			}
		}
		L.Push(m.RawGet(k))
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		k, v := L.Get(2), L.Get(3)
		if ks, ok := k.(lua.LString); ok {
			if io := ioOf(t); io != nil {
				switch ks {
				case "recv_buffer":
					s := lua.LVAsString(v)
					io.in = append(make([]byte, 0, len(s)+initialInBuf), s...)
					io.in = io.in[:cap(io.in)]
					io.r, io.w = 0, len(s)
					return 0
				case "send_buffer":
					io.out = io.out[:0]
					if tb, ok := v.(*lua.LTable); ok {
						tb.ForEach(func(_, x lua.LValue) { io.out = append(io.out, lua.LVAsString(x)...) })
					}
					return 0
				}
			}
		}
		t.RawSet(k, v)
		return 0
	}))
	L.G.Registry.RawSetString(ioMetaKey, mt)
	return m
}

func ioOf(t *lua.LTable) *IO {
	if ud, ok := t.RawGet(ioKey).(*lua.LUserData); ok {
		if io, ok := ud.Value.(*IO); ok {
			return io
		}
	}
	return nil
}

func checkIOValue(L *lua.LState, v lua.LValue) *IO {
	if t, ok := v.(*lua.LTable); ok {
		if io := ioOf(t); io != nil {
			return io
		}
	}
	L.RaiseError("ratchet.smtp: smtp_io object expected, got %s", v.Type().String())
	return nil
}

func checkIO(L *lua.LState) *IO { return checkIOValue(L, L.Get(1)) }

// NewIOObject creates an smtp_io instance table around socket value v.
func NewIOObject(L *lua.LState, v lua.LValue) *lua.LTable {
	t := L.CreateTable(0, 2)
	t.RawSetString("socket", v)
	ud := L.NewUserData()
	ud.Value = NewIO(v)
	t.RawSet(ioKey, ud)
	if mt, ok := L.G.Registry.RawGetString(ioMetaKey).(*lua.LTable); ok {
		L.SetMetatable(t, mt)
	}
	return t
}

func ioNew(L *lua.LState) int {
	v := L.Get(1)
	if v == lua.LNil {
		L.ArgError(1, "socket expected")
	}
	L.Push(NewIOObject(L, v))
	return 1
}

func raiseClosed(L *lua.LState, fn string) {
	kernel.Raise(L, kernel.Error{Description: "Connection closed.", Code: "ECONNCLOSED", Function: fn})
}

func raiseIOErr(L *lua.LState, err error, fn string) {
	if err == errTooLong {
		kernel.Raise(L, kernel.Error{Description: "Line too long.", Code: "LINETOOLONG", Function: fn})
	}
	raiseClosed(L, fn)
}

func ioBufferedSend(L *lua.LState) int {
	io := checkIO(L)
	io.SendString(L.CheckString(2))
	return 0
}

func ioFlushSend(L *lua.LState) int {
	_ = checkIO(L).Flush(L) // online: failures raise
	return 0
}

func ioBufferedRecv(L *lua.LState) int {
	io := checkIO(L)
	io.checkEnc(L)
	if io.w == len(io.in) && io.r == 0 && len(io.in) >= LuaLineLimit*4 {
		L.RaiseError("ratchet.smtp.io.recv(): receive buffer full")
	}
	if n, _ := io.fill(L, LuaLineLimit*4); n == 0 {
		raiseClosed(L, "ratchet.smtp.io.recv()")
	}
	L.Push(lua.LString(io.Buffered()))
	return 1
}

func ioRecvLine(L *lua.LState) int {
	io := checkIO(L)
	line, err := io.ReadLine(L, LuaLineLimit)
	if err != nil {
		raiseIOErr(L, err, "ratchet.smtp.io.recv()")
	}
	L.Push(lua.LString(line))
	return 1
}

func ioRecvCommand(L *lua.LState) int {
	io := checkIO(L)
	line, err := io.ReadLine(L, LuaLineLimit)
	if err != nil {
		raiseIOErr(L, err, "ratchet.smtp.io.recv()")
	}
	verb, arg := ParseCommand(line)
	L.Push(lua.LString(verb))
	L.Push(lua.LString(arg))
	return 2
}

func ioSendReply(L *lua.LState) int {
	io := checkIO(L)
	io.SendReply(valueString(L.Get(2)), valueString(L.Get(3)))
	return 0
}

func ioSendCommand(L *lua.LState) int {
	io := checkIO(L)
	cmd := L.CheckString(2)
	if strings.ContainsAny(cmd, "\r\n") {
		// an address or argument carrying a line break would smuggle a
		// second command
		L.RaiseError("ratchet.smtp.io.send_command(): line break in command")
	}
	io.SendString(cmd)
	io.SendString("\r\n")
	return 0
}

func ioRecvReply(L *lua.LState) int {
	io := checkIO(L)
	code, msg, bad, err := io.ReadReply(L)
	if err != nil {
		raiseIOErr(L, err, "ratchet.smtp.io.recv()")
	}
	if bad != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(bad))
		return 2
	}
	L.Push(lua.LString(code))
	L.Push(lua.LString(msg))
	return 2
}

func ioClose(L *lua.LState) int {
	checkIO(L).Close(L)
	return 0
}

// extensionList returns the EHLO keyword lines of a keyword table in the
// server's advertisement order (used by smtp_extensions:build_string).
func extensionList(L *lua.LState) int {
	t := L.CheckTable(1)
	out := L.NewTable()
	for _, l := range ExtensionLines(t) {
		out.Append(lua.LString(l))
	}
	L.Push(out)
	return 1
}

// ---- ratchet.smtp.data_reader ----

// OpenDataReader builds ratchet.smtp.data_reader: new(io [, size_limit])
// and reader:recv() -> data, or nil plus a MSGTOOBIG error object.
func OpenDataReader(L *lua.LState) *lua.LTable {
	m := L.NewTable()
	m.RawSetString("__index", m)
	L.SetFuncs(m, map[string]lua.LGFunction{
		"new": func(L *lua.LState) int {
			io := L.Get(1)
			checkIOValue(L, io)
			t := L.CreateTable(0, 2)
			t.RawSetString("io", io)
			t.RawSetString("size_limit", L.Get(2))
			L.SetMetatable(t, m)
			L.Push(t)
			return 1
		},
		"recv": func(L *lua.LState) int {
			self := L.CheckTable(1)
			io := checkIOValue(L, self.RawGetString("io"))
			limit := DataHardLimit
			if n, ok := self.RawGetString("size_limit").(lua.LNumber); ok && n > 0 && int64(n) < limit {
				limit = int64(n)
			}
			d := NewDataReader(limit)
			if err := io.ReadData(L, d); err != nil {
				raiseClosed(L, "ratchet.smtp.data.recv()")
			}
			if d.TooBig {
				L.Push(lua.LNil)
				L.Push(kernel.NewError(L, kernel.Error{Description: "Message breached size limit.",
					Code: "MSGTOOBIG", Function: "ratchet.smtp.data.recv()"}))
				return 2
			}
			L.Push(lua.LString(d.Data()))
			return 1
		},
	})
	return m
}

// ---- ratchet.smtp.data_sender ----

// sendChunk is the slice of message text transformed per write.
const sendChunk = 32 << 10

// OpenDataSender builds ratchet.smtp.data_sender: new(data [, iter_size]),
// sender:send(io) and the helper transform(text) -> wire text.
func OpenDataSender(L *lua.LState) *lua.LTable {
	m := L.NewTable()
	m.RawSetString("__index", m)
	L.SetFuncs(m, map[string]lua.LGFunction{
		"new": func(L *lua.LState) int {
			t := L.CreateTable(0, 2)
			t.RawSetString("data", lua.LString(valueString(L.Get(1))))
			size := L.Get(2)
			if size == lua.LNil {
				size = lua.LNumber(1024)
			}
			t.RawSetString("iter_size", size)
			L.SetMetatable(t, m)
			L.Push(t)
			return 1
		},
		// send(io [, hold]): with hold true a small message stays in the
		// send buffer for the commands that follow it (pipelining).
		"send": func(L *lua.LState) int {
			self := L.CheckTable(1)
			io := checkIOValue(L, L.Get(2))
			sendData(L, io, valueString(self.RawGetString("data")), L.ToBool(3))
			return 0
		},
		"transform": func(L *lua.LState) int {
			var s DataSender
			src := L.CheckString(1)
			out := s.Transform(nil, stringBytes(src))
			out = s.Finish(out)
			L.Push(lua.LString(out))
			return 1
		},
	})
	return m
}

// stringBytes views s as bytes without copying; the result is read-only.
func stringBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// SendData writes text through io with the transparency transform and the
// end-of-data line, streaming large texts in slices.
func SendData(L *lua.LState, io *IO, text string) { sendData(L, io, text, false) }

// sendData is SendData; with hold, a text that fits one chunk is left in
// the send buffer, to go out with what is sent next (one write instead of
// two when commands are pipelined after the contents).
func sendData(L *lua.LState, io *IO, text string, hold bool) {
	var s DataSender
	src := stringBytes(text)
	if len(src) <= sendChunk {
		io.out = s.Finish(s.Transform(io.out, src))
		if !hold {
			io.Flush(L)
		}
		return
	}
	io.Flush(L)
	buf := make([]byte, 0, 2*sendChunk+8)
	for len(src) > 0 {
		n := min(len(src), sendChunk)
		buf = s.Transform(buf[:0], src[:n])
		src = src[n:]
		if len(src) == 0 {
			buf = s.Finish(buf)
		}
		io.sock.Send(L, buf)
	}
}

// newServerObject(socket, handlers, tls_context, tls_immediately, class,
// extensions_class) builds a ratchet.smtp.server instance; it is the body
// of server.new, in Go because a connection-per-message load pays it for
// every message.
func newServerObject(L *lua.LState) int {
	sock := L.Get(1)
	if sock == lua.LNil {
		L.ArgError(1, "socket expected")
	}
	handlers := L.Get(2)
	if handlers == lua.LNil {
		handlers = L.NewTable()
	}
	tlsCtx, tlsNow := L.Get(3), L.Get(4)
	cls := L.CheckTable(5)
	extCls := L.CheckTable(6)
	var usingTLS lua.LValue = lua.LNil
	starttls := false
	if tlsCtx == lua.LTrue {
		// Documented in the original: the socket is already encrypted.
		tlsCtx, tlsNow, usingTLS = lua.LNil, lua.LNil, lua.LTrue
	} else if lua.LVAsBool(tlsCtx) && !lua.LVAsBool(tlsNow) {
		starttls = true
	}
	list := L.CreateTable(0, 6)
	list.RawSetString("8BITMIME", lua.LTrue)
	list.RawSetString("PIPELINING", lua.LTrue)
	list.RawSetString("ENHANCEDSTATUSCODES", lua.LTrue)
	if starttls {
		list.RawSetString("STARTTLS", lua.LTrue)
	}
	ext := L.CreateTable(0, 1)
	ext.RawSetString("extensions", list)
	ext.Metatable = extCls
	self := L.CreateTable(0, 10)
	self.RawSetString("handlers", handlers)
	self.RawSetString("io", NewIOObject(L, sock))
	self.RawSetString("tls_context", tlsCtx)
	self.RawSetString("tls_immediately", tlsNow)
	self.RawSetString("extensions", ext)
	self.RawSetString("using_tls", usingTLS)
	self.Metatable = cls
	L.Push(self)
	return 1
}
