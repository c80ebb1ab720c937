package ssl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Session is a TLS session bound to a ratchet socket (socket:encrypt).
type Session struct {
	sock *socket.Socket
	ctx  *Context
	tr   *transport
	conn *tls.Conn // created by the first handshake call
	ud   *lua.LUserData

	server   bool
	hsDone   bool
	hsErr    error
	rmu, wmu sync.Mutex // serialise readers / writers (held without the baton)
	pending  []byte     // decrypted bytes not yet returned (under rmu)
	ended    bool       // reads end at once: close_notify, EOF or error (under rmu)
	buffered atomic.Bool

	peer     []*x509.Certificate // recorded by verifyConnection
	verified bool
}

// readChunk is the staging size of a TLS read: a whole record's
// plaintext, so nothing stays hidden inside crypto/tls.
const readChunk = 16384

// writeChunk bounds the ciphertext queued by one write step.
const writeChunk = 64 << 10

var stagePool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

func newSession(s *socket.Socket, c *Context) *Session {
	return &Session{sock: s, ctx: c, tr: &transport{s: s}}
}

// encrypt implements socket:encrypt(ctx).
func encrypt(L *lua.LState, s *socket.Socket) int {
	c := CheckContext(L, 2, "ratchet.socket.encrypt")
	L.Push(Encrypt(L, s, c).ud)
	return 1
}

// Encrypt attaches a new TLS session for context c to s (what
// socket:encrypt does): from now on s's recv/send go through it. No I/O
// happens until a handshake.
func Encrypt(L *lua.LState, s *socket.Socket, c *Context) *Session {
	ss := newSession(s, c)
	ud := L.NewUserData()
	ud.Value = ss
	L.SetMetatable(ud, sessionMetatable(L))
	ss.ud = ud
	s.SetEncryption(ss, ud)
	return ss
}

// Userdata returns the session's Lua value.
func (ss *Session) Userdata() *lua.LUserData { return ss.ud }

// ClientHandshake runs the client side of the handshake (raises on failure).
func (ss *Session) ClientHandshake(L *lua.LState) { ss.handshake(L, false) }

// ServerHandshake runs the server side of the handshake (raises on failure).
func (ss *Session) ServerHandshake(L *lua.LState) { ss.handshake(L, true) }

// Cipher returns the negotiated suite's OpenSSL name ("" before a handshake).
func (ss *Session) Cipher() string {
	if ss.conn == nil || !ss.hsDone {
		return ""
	}
	return CipherName(ss.conn.ConnectionState().CipherSuite)
}

// VerifyCertificate reports whether the peer sent a certificate, whether
// it verified against the context's CAs, and whether host matches it.
func (ss *Session) VerifyCertificate(host string) (present, verified, hostOK bool) {
	if len(ss.peer) == 0 {
		return false, false, false
	}
	return true, ss.verified, ss.verified && hostMatches(ss.peer[0], host)
}

func sessionMetatable(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, sessionMeta, sessionMethods)
}

var sessionMethods = map[string]lua.LGFunction{
	"client_handshake":   sessClientHandshake,
	"connect":            sessClientHandshake,
	"server_handshake":   sessServerHandshake,
	"accept":             sessServerHandshake,
	"read":               sessRead,
	"write":              sessWrite,
	"shutdown":           sessShutdown,
	"get_cipher":         sessGetCipher,
	"get_rfc2253":        sessGetRFC2253,
	"verify_certificate": sessVerifyCertificate,
	"get_engine":         sessGetEngine,
}

// FromValue returns the session behind a ratchet.ssl session userdata.
func FromValue(v lua.LValue) (*Session, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		if s, ok := ud.Value.(*Session); ok {
			return s, true
		}
	}
	return nil, false
}

func checkSession(L *lua.LState, fname string) *Session {
	if s, ok := FromValue(L.Get(1)); ok {
		return s
	}
	luaarg.ArgError(L, 1, fname, "ratchet.ssl session expected, got "+luaarg.TypeName(L, 1))
	return nil
}

// Socket returns the socket the session is bound to.
func (ss *Session) Socket() *socket.Socket { return ss.sock }

// verifyConnection records the peer chain and its verification result;
// with a verify mode other than "none" a bad or (mode "fail", server side)
// missing certificate aborts the handshake.
func (ss *Session) verifyConnection(cs tls.ConnectionState) error {
	ss.peer = cs.PeerCertificates
	ss.verified = ss.ctx.verifyChain(cs.PeerCertificates)
	mode := ss.ctx.verify
	if mode == "none" {
		return nil
	}
	if len(cs.PeerCertificates) == 0 {
		if ss.server && mode != "fail" {
			return nil
		}
		return errors.New("peer did not return a certificate")
	}
	if !ss.verified {
		return errors.New("certificate verify failed")
	}
	return nil
}

// raise converts a TLS operation failure into the ratchet error.
func (ss *Session) raise(L *lua.LState, fn, what string, err error) {
	var errno syscall.Errno
	switch {
	case errors.Is(err, socket.ErrTimeout):
		kernel.RaiseTimeout(L, fn, what)
	case errors.Is(err, socket.ErrClosed):
		kernel.RaiseErrno(L, fn, "<unknown>", unix.EBADF)
	case errors.Is(err, socket.ErrAborted):
		L.RaiseError("%s: wait aborted", fn)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		kernel.Raise(L, kernel.Error{Description: "Unexpected EOF received", Code: "SSLEOF", Function: fn})
	case errors.As(err, &errno):
		kernel.RaiseErrno(L, fn, "<unknown>", errno)
	default:
		kernel.Raise(L, kernel.Error{Description: "SSL error: " + err.Error(), Code: "SSLERROR", Function: fn})
	}
}

func (ss *Session) handshake(L *lua.LState, server bool) {
	fn, what := "ratchet.ssl.session.client_handshake()", "client_handshake"
	if server {
		fn, what = "ratchet.ssl.session.server_handshake()", "server_handshake"
	}
	if m := ss.ctx.method; m != nil && (server && m.role == roleClient || !server && m.role == roleServer) {
		kernel.Raise(L, kernel.Error{Description: "SSL error: the context's method does not allow a " + what, Code: "SSLERROR", Function: fn})
	}
	if ss.conn == nil {
		ss.server = server
		cfg := ss.ctx.config(server, ss)
		if server {
			ss.conn = tls.Server(ss.tr, cfg)
		} else {
			ss.conn = tls.Client(ss.tr, cfg)
		}
	} else if ss.server != server {
		kernel.Raise(L, kernel.Error{Description: "SSL error: handshake already started in the other role", Code: "SSLERROR", Function: fn})
	}
	timeout := ss.sock.Timeout()
	err := ss.sock.BlockOn(L, func(w *socket.Waiter) error {
		ss.rmu.Lock()
		ss.wmu.Lock()
		defer ss.rmu.Unlock()
		defer ss.wmu.Unlock()
		ss.tr.setMode(true, w, timeout)
		ss.tr.flushing = true
		defer func() { ss.tr.flushing = false }()
		defer ss.tr.setMode(false, nil, 0)
		err := ss.conn.Handshake()
		if ferr := ss.tr.flush(w, timeout); err == nil {
			err = ferr
		}
		ss.updateBuffered()
		return err
	})
	if err != nil {
		ss.hsErr = err
		ss.raise(L, fn, what, err)
	}
	ss.hsDone = true
}

func (ss *Session) requireHandshake(L *lua.LState, fn string) {
	if ss.hsDone {
		return
	}
	if ss.hsErr != nil {
		ss.raise(L, fn, "read", ss.hsErr)
	}
	kernel.Raise(L, kernel.Error{Description: "SSL error: no handshake performed", Code: "SSLERROR", Function: fn})
}

func (ss *Session) updateBuffered() {
	ss.buffered.Store(len(ss.pending) > 0 || ss.tr.hasRecord() || ss.ended)
}

// Buffered implements socket.Encryption: decrypted data, a complete record
// received ahead, or the end of the stream can be read without waiting on
// the descriptor.
func (ss *Session) Buffered() bool { return ss.buffered.Load() }

// readLocked reads decrypted bytes into buf without waiting (errWouldBlock
// when nothing is there); the caller holds rmu. eof reports that the
// transport itself ended (no close_notify).
func (ss *Session) readLocked(buf []byte) (n int, eof bool, err error) {
	defer func() {
		eof = ss.tr.eof
		if err != nil && !errors.Is(err, errWouldBlock) && !errors.Is(err, socket.ErrTimeout) {
			ss.ended = true // crypto/tls keeps returning this at once
		}
		ss.updateBuffered()
	}()
	if len(ss.pending) > 0 {
		n = copy(buf, ss.pending)
		ss.pending = ss.pending[n:]
		if len(ss.pending) == 0 {
			ss.pending = nil
		}
		return n, false, nil
	}
	if len(buf) >= readChunk {
		n, err = ss.conn.Read(buf)
		return n, false, err
	}
	sp := stagePool.Get().(*[]byte)
	defer stagePool.Put(sp)
	n, err = ss.conn.Read(*sp)
	k := copy(buf, (*sp)[:n])
	if k < n {
		ss.pending = append([]byte(nil), (*sp)[k:n]...)
	}
	if k > 0 {
		err = nil // a sticky error comes back on the next read
	}
	return k, false, err
}

// Read implements socket.Encryption and session:read: up to len(buf)
// decrypted bytes, 0 after the peer's close_notify.
func (ss *Session) Read(L *lua.LState, buf []byte) int {
	const fn = "ratchet.ssl.session.read()"
	if len(buf) == 0 {
		return 0
	}
	ss.requireHandshake(L, fn)
	var n int
	var err error
	var eof bool
	fast := false
	if ss.rmu.TryLock() {
		// Under the baton: decrypt what is there without waiting.
		n, eof, err = ss.readLocked(buf)
		ss.rmu.Unlock()
		fast = !errors.Is(err, errWouldBlock)
	}
	if !fast {
		// Wait for readability holding no buffer, then read without
		// waiting; repeat while only part of a record has arrived.
		timeout := ss.sock.Timeout()
		berr := ss.sock.BlockOn(L, func(w *socket.Waiter) error {
			ss.rmu.Lock()
			defer ss.rmu.Unlock()
			for {
				n, eof, err = ss.readLocked(buf)
				if !errors.Is(err, errWouldBlock) {
					return nil
				}
				if werr := ss.sock.Await(w, false, timeout, pollReadable); werr != nil {
					return werr
				}
			}
		})
		if berr != nil {
			err = berr
		}
	}
	// Alerts queued by the read go out now if they can; waiting here for
	// writability could deadlock with a peer blocked writing to us. A
	// failure shows again on the next write.
	_ = ss.tr.tryFlush()
	if n > 0 {
		return n
	}
	if err == nil {
		return 0
	}
	if err == io.EOF && !eof {
		return 0 // close_notify
	}
	ss.raise(L, fn, "read", err)
	return 0
}

// WaitReadable suspends the calling thread until a read would return
// something, without holding any buffer meanwhile (idle connections stay
// small). The socket timeout applies.
func (ss *Session) WaitReadable(L *lua.LState) {
	ss.requireHandshake(L, "ratchet.ssl.session.read()")
	if ss.Buffered() {
		return
	}
	timeout := ss.sock.Timeout()
	err := ss.sock.BlockOn(L, func(w *socket.Waiter) error {
		return ss.sock.Await(w, false, timeout, pollReadable)
	})
	if err != nil {
		ss.raise(L, "ratchet.ssl.session.read()", "read", err)
	}
}

// flushOut sends queued ciphertext (alerts or records written under the
// baton), suspending the thread if the kernel buffer is full.
func (ss *Session) flushOut(L *lua.LState, fn, what string) {
	if !ss.tr.pendingOut() {
		return
	}
	if err := ss.tr.tryFlush(); err == nil && !ss.tr.pendingOut() {
		return
	}
	timeout := ss.sock.Timeout()
	err := ss.sock.BlockOn(L, func(w *socket.Waiter) error { return ss.tr.flush(w, timeout) })
	if err != nil {
		ss.raise(L, fn, what, err)
	}
}

// Write implements socket.Encryption and session:write: all of data.
func (ss *Session) Write(L *lua.LState, data []byte) {
	const fn = "ratchet.ssl.session.write()"
	ss.requireHandshake(L, fn)
	for len(data) > 0 {
		chunk := data[:min(len(data), writeChunk)]
		data = data[len(chunk):]
		var err error
		if ss.wmu.TryLock() {
			_, err = ss.conn.Write(chunk) // the transport queues, never waits
			ss.wmu.Unlock()
		} else {
			timeout := ss.sock.Timeout()
			err = ss.sock.BlockOn(L, func(w *socket.Waiter) error {
				ss.wmu.Lock()
				defer ss.wmu.Unlock()
				if _, err := ss.conn.Write(chunk); err != nil {
					return err
				}
				return ss.tr.flush(w, timeout)
			})
		}
		if err != nil {
			ss.raise(L, fn, "write", err)
		}
		ss.flushOut(L, fn, "write")
	}
}

// Shutdown sends close_notify and waits for the peer's. It returns false
// when the transport is already gone.
func (ss *Session) Shutdown(L *lua.LState) bool {
	const fn = "ratchet.ssl.session.shutdown()"
	if ss.conn == nil || !ss.hsDone || ss.sock.FD() < 0 {
		return false
	}
	timeout := ss.sock.Timeout()
	ok := false
	err := ss.sock.BlockOn(L, func(w *socket.Waiter) error {
		ss.wmu.Lock()
		cerr := ss.conn.CloseWrite()
		ferr := ss.tr.flush(w, timeout)
		ss.wmu.Unlock()
		if errors.Is(ferr, socket.ErrTimeout) || errors.Is(ferr, socket.ErrAborted) {
			return ferr
		}
		if cerr != nil || ferr != nil {
			return nil
		}
		ss.rmu.Lock()
		defer ss.rmu.Unlock()
		ss.pending = nil
		ss.tr.setMode(true, w, timeout)
		defer ss.tr.setMode(false, nil, 0)
		sp := stagePool.Get().(*[]byte)
		defer stagePool.Put(sp)
		defer ss.updateBuffered()
		for {
			_, err := ss.conn.Read(*sp)
			switch {
			case err == nil:
				continue // application data after our close_notify: discard
			case err == io.EOF && !ss.tr.eof:
				ok, ss.ended = true, true
				return nil
			case errors.Is(err, socket.ErrTimeout), errors.Is(err, socket.ErrAborted):
				return err
			default:
				ss.ended = true
				return nil
			}
		}
	})
	if err != nil {
		ss.raise(L, fn, "shutdown", err)
	}
	return ok
}

// ---- Lua methods ----

func sessClientHandshake(L *lua.LState) int {
	checkSession(L, "ratchet.ssl.session.client_handshake").handshake(L, false)
	return 0
}

func sessServerHandshake(L *lua.LState) int {
	checkSession(L, "ratchet.ssl.session.server_handshake").handshake(L, true)
	return 0
}

func sessRead(L *lua.LState) int {
	const fname = "ratchet.ssl.session.read"
	ss := checkSession(L, fname)
	maxlen := int(luaarg.OptNumber(L, 2, fname, socket.BUFSZ))
	if maxlen < 0 {
		luaarg.ArgError(L, 2, fname, "non-negative size expected")
	}
	maxlen = min(maxlen, 1<<16)
	if maxlen > 0 && !ss.sock.Ready(false) {
		ss.WaitReadable(L)
	}
	buf := make([]byte, maxlen)
	n := ss.Read(L, buf)
	L.Push(lua.LString(buf[:n]))
	return 1
}

func sessWrite(L *lua.LState) int {
	const fname = "ratchet.ssl.session.write"
	ss := checkSession(L, fname)
	ss.Write(L, []byte(luaarg.CheckString(L, 2, fname)))
	return 0
}

func sessShutdown(L *lua.LState) int {
	ss := checkSession(L, "ratchet.ssl.session.shutdown")
	L.Push(lua.LBool(ss.Shutdown(L)))
	return 1
}

func sessGetCipher(L *lua.LState) int {
	ss := checkSession(L, "ratchet.ssl.session.get_cipher")
	if name := ss.Cipher(); name != "" {
		L.Push(lua.LString(name))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

func sessGetRFC2253(L *lua.LState) int {
	ss := checkSession(L, "ratchet.ssl.session.get_rfc2253")
	if len(ss.peer) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	s, err := RFC2253(ss.peer[0].RawSubject)
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(s))
	return 1
}

func sessVerifyCertificate(L *lua.LState) int {
	const fname = "ratchet.ssl.session.verify_certificate"
	ss := checkSession(L, fname)
	hasHost := L.Get(2) != lua.LNil
	host := ""
	if hasHost {
		host = luaarg.CheckString(L, 2, fname)
	}
	if len(ss.peer) == 0 {
		L.Push(lua.LFalse)
		return 1
	}
	if !ss.verified {
		L.Push(lua.LTrue)
		L.Push(lua.LFalse)
		return 2
	}
	L.Push(lua.LTrue)
	L.Push(lua.LTrue)
	if !hasHost {
		return 2
	}
	L.Push(lua.LBool(hostMatches(ss.peer[0], host)))
	return 3
}

func sessGetEngine(L *lua.LState) int {
	ss := checkSession(L, "ratchet.ssl.session.get_engine")
	socket.Push(L, ss.sock)
	return 1
}

// Ready implements kernel.Waitable, so that block_on accepts sessions.
func (ss *Session) Ready(write bool) bool { return ss.sock.Ready(write) }

// WaitReady implements kernel.Waitable.
func (ss *Session) WaitReady(write bool, cancel <-chan struct{}) { ss.sock.WaitReady(write, cancel) }
