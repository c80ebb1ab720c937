package smtp

import (
	"bytes"
	"errors"
	"sync"
	"unsafe"

	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Socket is what the SMTP engine needs from a ratchet socket; the socket
// package's *Socket satisfies it. Recv and Send suspend only the calling
// ratchet thread, go through TLS when the socket is encrypted and raise
// ratchet errors (ETIMEDOUT...) as Lua errors. Recv returns 0 at end of
// stream.
type Socket interface {
	Recv(L *lua.LState, buf []byte) int
	Send(L *lua.LState, data []byte)
	Encrypted() bool
	Close() error
	SetNoDelay(bool) error
}

func socketOf(v lua.LValue) (Socket, *socket.Socket) {
	if s, ok := socket.FromValue(v); ok {
		return s, s
	}
	return &luaSocket{v: v}, nil
}

// luaSocket drives any object with socket-like Lua methods.
type luaSocket struct {
	v       lua.LValue
	pending []byte
}

func (s *luaSocket) method(L *lua.LState, name string) lua.LValue {
	fn := L.GetField(s.v, name)
	if fn == lua.LNil {
		L.RaiseError("socket object has no %s() method", name)
	}
	return fn
}

func (s *luaSocket) Recv(L *lua.LState, buf []byte) int {
	if len(s.pending) == 0 {
		L.Push(s.method(L, "recv"))
		L.Push(s.v)
		L.Call(1, 1)
		data := L.Get(-1)
		L.Pop(1)
		str, ok := data.(lua.LString)
		if !ok || len(str) == 0 {
			return 0
		}
		s.pending = []byte(str)
	}
	n := copy(buf, s.pending)
	s.pending = s.pending[n:]
	return n
}

func (s *luaSocket) Send(L *lua.LState, data []byte) {
	rest := lua.LValue(lua.LString(data))
	fn := s.method(L, "send")
	for {
		L.Push(fn)
		L.Push(s.v)
		L.Push(rest)
		L.Call(2, 1)
		rest = L.Get(-1)
		L.Pop(1)
		if str, ok := rest.(lua.LString); !ok || len(str) == 0 {
			return
		}
	}
}

// Encrypted needs L; luaSocket answers through encryptedL.
func (s *luaSocket) Encrypted() bool { return false }

func (s *luaSocket) encryptedL(L *lua.LState) bool {
	fn := L.GetField(s.v, "get_encryption")
	if fn == lua.LNil {
		return false
	}
	L.Push(fn)
	L.Push(s.v)
	L.Call(1, 1)
	enc := L.Get(-1)
	L.Pop(1)
	return lua.LVAsBool(enc)
}

func (s *luaSocket) Close() error          { return nil }
func (s *luaSocket) SetNoDelay(bool) error { return nil }

var (
	errEOF     = errors.New("connection closed")
	errTooLong = errors.New("line too long")
)

const (
	initialInBuf  = 4096
	maxDataInBuf  = 64 << 10 // read size used while receiving message data
	maxKeptOutBuf = 64 << 10 // larger output buffers are dropped after a flush
	// LuaLineLimit bounds lines read through the Lua methods (recv_line,
	// recv_command, recv_reply): generous enough for AUTH exchanges
	// (RFC 4954 allows 12288 octets) and long multi-line replies.
	LuaLineLimit = 64 << 10
)

var inPool = sync.Pool{New: func() any { b := make([]byte, initialInBuf); return &b }}

// IO is the buffered line I/O behind a ratchet.smtp.smtp_io object.
//
// It works in two modes. Online (the default) it holds the kernel baton and
// uses the socket's Go API, which suspends the calling ratchet thread and
// raises Lua errors. Offline (between BeginOffline and EndOffline, inside
// socket.BlockOn) it runs without the baton, does its own non-blocking
// syscalls on a native plain socket and records failures in err instead of
// raising: the server session uses this to run whole stretches of protocol
// without a kernel hand-off per read.
type IO struct {
	sock    Socket
	raw     *socket.Socket // native socket, nil for other objects
	sockVal lua.LValue
	in      []byte // unread input is in[r:w]
	r, w    int
	out     []byte
	enc     bool // encryption state of the socket when in was filled
	closed  bool
	reply   ReplyParser

	waiter *socket.Waiter // non-nil while offline
	err    error          // first offline failure (sticky until EndOffline)
	errOp  string         // "recv" or "send"

	// offline syscall arguments and results, and the callbacks using them
	ioBuf            []byte
	ioN              int
	lendIn           bool // in is empty: give it back to inPool while waiting
	ioErr            error
	tryRead, trySend func(fd int) bool
	doSend           func(fd int)
}

// NewIO wraps the socket value v.
func NewIO(v lua.LValue) *IO {
	s, raw := socketOf(v)
	io := &IO{sock: s, raw: raw, sockVal: v}
	if raw != nil {
		io.tryRead, io.trySend, io.doSend = io.tryReadFD, io.trySendFD, io.doSendFD
	}
	return io
}

// CanOffline reports whether the offline mode is available now: a native
// socket without TLS.
func (io *IO) CanOffline() bool { return io.raw != nil && !io.raw.Encrypted() && !io.closed }

func (io *IO) encrypted(L *lua.LState) bool {
	if ls, ok := io.sock.(*luaSocket); ok {
		return ls.encryptedL(L)
	}
	return io.sock.Encrypted()
}

// checkEnc drops input buffered in plaintext once the socket has become
// encrypted (STARTTLS): such bytes were injectable by anyone on the path
// (RFC 3207 section 4.2 / CVE-2011-0411).
func (io *IO) checkEnc(L *lua.LState) {
	if io.waiter != nil {
		return
	}
	if e := io.encrypted(L); e != io.enc {
		io.enc = e
		io.r, io.w = 0, 0
	}
}

// Buffered returns the unread input.
func (io *IO) Buffered() []byte { return io.in[io.r:io.w] }

// HasLine reports whether a complete line is buffered.
func (io *IO) HasLine() bool { return bytes.IndexByte(io.in[io.r:io.w], '\n') >= 0 }

// DropInput discards buffered input.
func (io *IO) DropInput() { io.r, io.w = 0, 0 }

// recv reads once into buf: through the socket's Go API online, with raw
// syscalls offline (errors are then returned).
func (io *IO) recv(L *lua.LState, buf []byte) (int, error) {
	if io.waiter == nil {
		return io.sock.Recv(L, buf), nil
	}
	if io.err != nil {
		return 0, io.err
	}
	// Await tries the read at once and waits only if it would block. The
	// arguments travel in io fields and the callbacks are method values
	// bound once, so that nothing is allocated per call.
	io.ioBuf = buf
	io.lendIn = io.w == 0 && cap(io.in) == initialInBuf && len(buf) == initialInBuf
	if werr := io.raw.Await(io.waiter, false, io.raw.Timeout(), io.tryRead); werr != nil {
		io.ioBuf = nil
		return 0, io.fail(werr, "recv")
	}
	io.ioBuf = nil
	if io.ioErr != nil {
		return 0, io.fail(io.ioErr, "recv")
	}
	return io.ioN, nil
}

func (io *IO) tryReadFD(fd int) bool {
	if io.ioBuf == nil { // lent to the pool while waiting: take one back
		io.in = (*inPool.Get().(*[]byte))[:initialInBuf]
		io.ioBuf = io.in
	}
	io.ioN, io.ioErr = readFD(fd, io.ioBuf)
	if io.ioErr == unix.EAGAIN && io.lendIn {
		// Nothing is buffered, so an idle connection need not keep its
		// input buffer while it waits for the client.
		b := io.in[:0]
		inPool.Put(&b)
		io.in, io.ioBuf = nil, nil
	}
	return io.ioErr != unix.EAGAIN
}

func (io *IO) trySendFD(fd int) bool {
	io.ioN, io.ioErr = sendFD(fd, io.ioBuf)
	return io.ioErr != unix.EAGAIN
}

func (io *IO) doSendFD(fd int) { io.trySendFD(fd) }

// send writes all of data.
func (io *IO) send(L *lua.LState, data []byte) error {
	if io.waiter == nil {
		io.sock.Send(L, data)
		return nil
	}
	for len(data) > 0 && io.err == nil {
		io.ioBuf = data
		if derr := io.raw.Do(io.doSend); derr != nil {
			io.ioBuf = nil
			return io.fail(derr, "send")
		}
		if io.ioErr == unix.EAGAIN {
			if werr := io.raw.Await(io.waiter, true, io.raw.Timeout(), io.trySend); werr != nil {
				io.ioBuf = nil
				return io.fail(werr, "send")
			}
		}
		io.ioBuf = nil
		if io.ioErr != nil {
			return io.fail(io.ioErr, "send")
		}
		data = data[io.ioN:]
	}
	return io.err
}

func (io *IO) fail(err error, op string) error {
	if io.err == nil {
		io.err, io.errOp = err, op
	}
	return io.err
}

func readFD(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Read(fd, buf)
		if err != unix.EINTR {
			if n < 0 {
				n = 0
			}
			return n, err
		}
	}
}

// sendFD is send(2) with MSG_NOSIGNAL: a vanished peer gives EPIPE, never
// SIGPIPE.
func sendFD(fd int, p []byte) (int, error) {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// BeginOffline switches to offline mode with the waiter of the enclosing
// socket.BlockOn; EndOffline switches back and returns the first failure.
func (io *IO) BeginOffline(w *socket.Waiter) { io.waiter, io.err = w, nil }

// EndOffline leaves offline mode.
func (io *IO) EndOffline() (err error, op string) {
	err, op = io.err, io.errOp
	io.waiter, io.err = nil, nil
	return err, op
}

// RaiseOffline raises, online, the Lua error for an offline failure.
func RaiseOffline(L *lua.LState, err error, op string) {
	fn := "ratchet.socket." + op + "()"
	switch e := err.(type) {
	case unix.Errno:
		kernel.RaiseErrno(L, fn, op, e)
	}
	switch err {
	case socket.ErrTimeout:
		kernel.RaiseTimeout(L, fn, op)
	case socket.ErrClosed:
		kernel.RaiseErrno(L, fn, op, unix.EBADF)
	}
	L.RaiseError("%s: %s", fn, err.Error())
}

// fill flushes pending output, then reads once from the socket into the
// buffer, growing it up to maxBuf. It returns the number of bytes read
// (0 at end of stream, -1 when the buffer is full).
func (io *IO) fill(L *lua.LState, maxBuf int) (int, error) {
	if len(io.out) > 0 {
		if err := io.Flush(L); err != nil {
			return 0, err
		}
	}
	if io.r == io.w {
		io.r, io.w = 0, 0
	}
	if io.in == nil {
		io.in = (*inPool.Get().(*[]byte))[:initialInBuf]
	}
	if io.w == len(io.in) {
		if io.r > 0 {
			io.w = copy(io.in, io.in[io.r:io.w])
			io.r = 0
		}
		if io.w == len(io.in) && len(io.in) < maxBuf {
			n := min(2*len(io.in), maxBuf)
			nb := make([]byte, n)
			copy(nb, io.in[:io.w])
			io.in = nb
		}
	}
	if io.w == len(io.in) {
		return -1, nil
	}
	if io.waiter == nil {
		io.enc = io.encrypted(L)
	}
	n, err := io.recv(L, io.in[io.w:])
	io.w += n
	return n, err
}

// ReadLine returns the next line without its terminator (LF or CRLF). The
// line aliases the buffer and is valid until the next read. A line longer
// than max bytes (terminator included) is consumed and reported as
// errTooLong; end of stream gives errEOF; offline failures are returned.
func (io *IO) ReadLine(L *lua.LState, max int) ([]byte, error) {
	io.checkEnc(L)
	for {
		buf := io.in[io.r:io.w]
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			io.r += i + 1
			if i+1 > max {
				return nil, errTooLong
			}
			line := buf[:i]
			if i > 0 && line[i-1] == '\r' {
				line = line[:i-1]
			}
			return line, nil
		}
		if len(buf) >= max {
			return nil, io.discardLine(L)
		}
		n, err := io.fill(L, max+1)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errEOF
		}
	}
}

// discardLine drops input through the next LF.
func (io *IO) discardLine(L *lua.LState) error {
	for {
		buf := io.in[io.r:io.w]
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			io.r += i + 1
			return errTooLong
		}
		io.r, io.w = 0, 0
		n, err := io.fill(L, len(io.in))
		if err != nil {
			return err
		}
		if n == 0 {
			return errEOF
		}
	}
}

// ReadReply reads one reply. When a line does not fit the reply syntax,
// that line is returned as bad.
func (io *IO) ReadReply(L *lua.LState) (code, msg string, bad []byte, err error) {
	p := &io.reply
	p.Reset()
	for {
		line, err := io.ReadLine(L, LuaLineLimit)
		if err != nil {
			return "", "", nil, err
		}
		switch p.Feed(line) {
		case ReplyDone:
			return p.Code, p.Message(), nil, nil
		case ReplyInvalid:
			return "", "", append([]byte(nil), line...), nil
		}
	}
}

// ReadData feeds buffered and received input to d until the end of data.
func (io *IO) ReadData(L *lua.LState, d *DataReader) error {
	io.checkEnc(L)
	for {
		if io.r < io.w {
			n, done := d.Feed(io.in[io.r:io.w])
			io.r += n
			if done {
				return nil
			}
		}
		io.r, io.w = 0, 0
		n, err := io.fill(L, maxDataInBuf)
		if err != nil {
			return err
		}
		if n == 0 {
			return errEOF
		}
	}
}

// Send queues data.
func (io *IO) Send(b []byte) { io.out = append(io.out, b...) }

// SendString queues s.
func (io *IO) SendString(s string) { io.out = append(io.out, s...) }

// SendReply queues a reply (no enhanced status code processing).
func (io *IO) SendReply(code, message string) { io.out = AppendReply(io.out, code, message) }

// Pending is the number of queued output bytes.
func (io *IO) Pending() int { return len(io.out) }

// Flush sends everything queued.
func (io *IO) Flush(L *lua.LState) error {
	if len(io.out) == 0 {
		return nil
	}
	out := io.out
	io.out = io.out[:0]
	err := io.send(L, out)
	if cap(io.out) > maxKeptOutBuf {
		io.out = nil
	}
	return err
}

// Close shuts down TLS (in protected mode: errors ignored) when the socket
// is encrypted, then closes it. Closing twice does nothing.
func (io *IO) Close(L *lua.LState) {
	if io.closed {
		return
	}
	io.closed = true
	io.out = nil
	if cap(io.in) == initialInBuf && io.waiter == nil {
		// Connection-per-message loads allocate one buffer per session
		// otherwise; nothing refers to it once the connection is closed.
		b := io.in[:0]
		io.in, io.r, io.w = nil, 0, 0
		inPool.Put(&b)
	}
	if io.encrypted(L) {
		if enc := callMethod1(L, io.sockVal, "get_encryption"); enc != lua.LNil {
			if fn := L.GetField(enc, "shutdown"); fn != lua.LNil {
				L.Push(fn)
				L.Push(enc)
				_ = pcallfix.PCall(L, 1, 0)
			}
		}
	}
	if ls, ok := io.sock.(*luaSocket); ok {
		if fn := L.GetField(ls.v, "close"); fn != lua.LNil {
			L.Push(fn)
			L.Push(ls.v)
			L.Call(1, 0)
		}
		return
	}
	_ = io.sock.Close()
}

// callMethod1 calls obj:name(args...) and returns its first result (nil
// when the method does not exist).
func callMethod1(L *lua.LState, obj lua.LValue, name string, args ...lua.LValue) lua.LValue {
	fn := L.GetField(obj, name)
	if fn == lua.LNil {
		return lua.LNil
	}
	L.Push(fn)
	L.Push(obj)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(1+len(args), 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}
