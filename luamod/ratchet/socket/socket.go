// Package socket implements ratchet.socket (spec ratchet.md 2.4): BSD
// sockets on raw non-blocking, close-on-exec descriptors. Every call first
// tries the syscall directly (under the kernel's baton); only when it would
// block does the calling ratchet thread suspend, parking its goroutine in
// Go's netpoller through the descriptor's os.File RawConn, so an idle
// connection costs no OS thread.
//
// The package also exports a small Go API (Check, Push, Recv, Send...) for
// native modules that speak protocols over ratchet sockets.
package socket

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
	"weak"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// BUFSZ is the default recv size of the original (Lua 5.2's C buffer).
const BUFSZ = 8192

// maxRecv caps the buffer of a single recv: a larger maxlen is allowed
// (defect 4.24) and simply returns at most this much per call.
const maxRecv = 1 << 16

// Errors returned by Await (and by the I/O of encryption layers built on it).
var (
	// ErrTimeout: the wait's deadline (the socket timeout) passed.
	ErrTimeout = &waitError{"i/o timeout", true}
	// ErrAborted: the waiting thread was killed or the runtime stopped.
	ErrAborted = &waitError{"wait aborted", false}
	// ErrClosed: the socket was closed while waiting.
	ErrClosed = &waitError{"socket closed", false}
)

// waitError implements net.Error so that crypto/tls treats a timed-out read
// as temporary (the connection stays usable after a recv timeout).
type waitError struct {
	msg     string
	timeout bool
}

func (e *waitError) Error() string   { return e.msg }
func (e *waitError) Timeout() bool   { return e.timeout }
func (e *waitError) Temporary() bool { return e.timeout }

// Encryption is what a TLS layer attached with SetEncryption provides; the
// socket's recv/send (Lua and Go API) delegate to it.
type Encryption interface {
	// Read decrypts up to len(buf) bytes; 0 means the peer closed cleanly.
	Read(L *lua.LState, buf []byte) int
	// Write encrypts and sends all of data.
	Write(L *lua.LState, data []byte)
	// Buffered reports decrypted or received-but-unprocessed data that a
	// Read would return without waiting on the descriptor (defect 4.25).
	Buffered() bool
}

// Waiter is one suspended operation's registration on a socket: it carries
// the deadline of the current wait and the abort flag set by a kill.
type Waiter struct {
	deadline  time.Time
	cancelled bool
}

type waitList struct {
	ws  []*Waiter
	cur time.Time // deadline currently set on the file for this direction
}

// Socket is the Go value behind a ratchet socket userdata.
type Socket struct {
	fd     int // -1 once closed
	family int
	stype  int
	proto  int

	file *os.File
	rc   syscall.RawConn

	timeoutNum float64       // as given to set_timeout (get_timeout returns it)
	timeout    time.Duration // <0: none

	tracer lua.LValue
	enc    Encryption
	encUD  lua.LValue
	ud     *lua.LUserData

	fdmu    sync.RWMutex // Close vs Do
	mu      sync.Mutex   // guards the file on close and the wait lists
	rl, wl  waitList
	untrack func()

	rop, wop  *ioOp // reusable recv/send waits (used under the baton)
	recvParks bool  // the last recv parked in the netpoller
}

// newSocket wraps a non-blocking descriptor. The descriptor belongs to the
// socket from now on (the os.File finalizer closes it if the socket is
// garbage collected without close).
func newSocket(L *lua.LState, fd, family, stype, proto int) (*Socket, error) {
	f := os.NewFile(uintptr(fd), "socket")
	if f == nil {
		return nil, unix.EBADF
	}
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	s := &Socket{fd: fd, family: family, stype: stype, proto: proto, file: f, rc: rc, timeoutNum: -1, timeout: -1}
	if L != nil {
		// Track through a weak reference so that an unreferenced socket can
		// still be collected (and its descriptor closed by os.File).
		untrack := kernel.Track(L, trackRef{weak.Make(s)})
		s.untrack = untrack
		runtime.AddCleanup(s, func(u func()) { u() }, untrack)
	}
	return s, nil
}

type trackRef struct{ w weak.Pointer[Socket] }

func (r trackRef) Close() error {
	if s := r.w.Value(); s != nil {
		return s.Close()
	}
	return nil
}

// FD returns the descriptor, -1 once closed.
func (s *Socket) FD() int { return s.fd }

// Family returns the address family the socket was created with.
func (s *Socket) Family() int { return s.family }

// Timeout returns the socket timeout; negative means none.
func (s *Socket) Timeout() time.Duration { return s.timeout }

// SetTimeout sets the per-wait timeout (negative: none).
func (s *Socket) SetTimeout(d time.Duration) {
	s.timeout = d
	if d < 0 {
		s.timeoutNum = -1
	} else {
		s.timeoutNum = d.Seconds()
	}
}

// Encrypted reports whether a TLS session is attached.
func (s *Socket) Encrypted() bool { return s.enc != nil }

// Encryption returns the attached encryption layer and its Lua value.
func (s *Socket) Encryption() (Encryption, lua.LValue) { return s.enc, s.encUD }

// SetEncryption attaches an encryption layer: from now on Recv/Send and the
// Lua recv/send go through it. ud is what get_encryption returns.
func (s *Socket) SetEncryption(e Encryption, ud lua.LValue) {
	s.enc = e
	s.encUD = ud
}

// Close closes the descriptor, waking every thread waiting on it. It is
// idempotent; the error is that of close(2) on the first call.
func (s *Socket) Close() error {
	s.fdmu.Lock()
	s.mu.Lock()
	f := s.file
	s.file = nil
	s.rc = nil
	s.fd = -1
	s.mu.Unlock()
	s.fdmu.Unlock()
	if f == nil {
		return nil
	}
	if s.untrack != nil {
		s.untrack()
	}
	return f.Close()
}

// SetNoDelay sets TCP_NODELAY (the original left Nagle on).
func (s *Socket) SetNoDelay(on bool) error {
	if s.fd < 0 {
		return unix.EBADF
	}
	v := 0
	if on {
		v = 1
	}
	return unix.SetsockoptInt(s.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, v)
}

// PeerAddr returns the connected peer's address (nil if unknown).
func (s *Socket) PeerAddr() net.Addr {
	if s.fd < 0 {
		return nil
	}
	sa, err := unix.Getpeername(s.fd)
	if err != nil {
		return nil
	}
	return netAddr(sa)
}

// LocalAddr returns the socket's own address (nil if unknown).
func (s *Socket) LocalAddr() net.Addr {
	if s.fd < 0 {
		return nil
	}
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return nil
	}
	return netAddr(sa)
}

func netAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

// Waitable returns the socket as a kernel.Waitable (for block_on and
// multi_recv-style waits).
func (s *Socket) Waitable() kernel.Waitable { return s }

// ---- readiness (kernel.Waitable) ----

func pollReady(fd int, write bool) bool {
	ev := int16(unix.POLLIN)
	if write {
		ev = unix.POLLOUT
	}
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: ev}}
	for {
		n, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true // let the I/O call report the problem
		}
		return n > 0
	}
}

// Ready implements kernel.Waitable: data buffered in an encryption layer
// counts as readable; a closed socket is "ready" so that the caller's I/O
// reports EBADF instead of waiting forever.
func (s *Socket) Ready(write bool) bool {
	if !write && s.enc != nil && s.enc.Buffered() {
		return true
	}
	fd := s.fd
	if fd < 0 {
		return true
	}
	return pollReady(fd, write)
}

// WaitReady implements kernel.Waitable. The socket timeout does not apply
// (block_on has its own).
func (s *Socket) WaitReady(write bool, cancel <-chan struct{}) {
	w := &Waiter{}
	done := make(chan struct{})
	go func() {
		select {
		case <-cancel:
			s.Abort(w)
		case <-done:
		}
	}()
	_ = s.Await(w, write, -1, func(fd int) bool { return pollReady(fd, write) })
	close(done)
}

// ---- waiting ----

var pastDeadline = time.Unix(1, 0)

// apply recomputes the deadline a direction needs: in the past if some
// waiter was aborted (to wake it), else the earliest waiter deadline.
// Called with s.mu held.
func (s *Socket) apply(l *waitList, write bool) {
	var eff time.Time
	for _, w := range l.ws {
		if w.cancelled {
			eff = pastDeadline
			break
		}
		if !w.deadline.IsZero() && (eff.IsZero() || w.deadline.Before(eff)) {
			eff = w.deadline
		}
	}
	if eff.Equal(l.cur) || s.file == nil {
		return
	}
	l.cur = eff
	if write {
		_ = s.file.SetWriteDeadline(eff)
	} else {
		_ = s.file.SetReadDeadline(eff)
	}
}

// Abort wakes the wait registered with w (now or later) with ErrAborted.
// Safe to call from any goroutine, before or during the wait.
func (s *Socket) Abort(w *Waiter) {
	s.mu.Lock()
	w.cancelled = true
	s.apply(&s.rl, false)
	s.apply(&s.wl, true)
	s.mu.Unlock()
}

// Await waits, without the baton, until try (run on the descriptor, first
// at once and again after each readiness notification) returns true. The
// wait gives up after timeout (negative: never; 0: immediately if try fails),
// when the socket is closed, or when w is aborted. It must not touch Lua.
// Waits of several goroutines on one socket are supported.
func (s *Socket) Await(w *Waiter, write bool, timeout time.Duration, try func(fd int) bool) error {
	return s.await(w, write, timeout, func(fd uintptr) bool { return try(int(fd)) })
}

func (s *Socket) await(w *Waiter, write bool, timeout time.Duration, fn func(fd uintptr) bool) error {
	l := &s.rl
	if write {
		l = &s.wl
	}
	s.mu.Lock()
	if w.cancelled {
		s.mu.Unlock()
		return ErrAborted
	}
	rc := s.rc
	if rc == nil {
		s.mu.Unlock()
		return ErrClosed
	}
	if timeout >= 0 {
		w.deadline = time.Now().Add(timeout)
	} else {
		w.deadline = time.Time{}
	}
	l.ws = append(l.ws, w)
	s.apply(l, write)
	s.mu.Unlock()

	var res error
	for {
		var err error
		if write {
			err = rc.Write(fn)
		} else {
			err = rc.Read(fn)
		}
		if err == nil {
			break
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.mu.Lock()
			c := w.cancelled
			s.mu.Unlock()
			if c {
				res = ErrAborted
				break
			}
			if !w.deadline.IsZero() && !time.Now().Before(w.deadline) {
				res = ErrTimeout
				break
			}
			// Another waiter's deadline or abort: wait again.
			runtime.Gosched()
			continue
		}
		res = ErrClosed
		break
	}
	s.mu.Lock()
	for i, x := range l.ws {
		if x == w {
			l.ws[i] = l.ws[len(l.ws)-1]
			l.ws[len(l.ws)-1] = nil
			l.ws = l.ws[:len(l.ws)-1]
			break
		}
	}
	s.apply(l, write)
	s.mu.Unlock()
	return res
}

// BlockOn suspends the calling ratchet thread (kernel.Block) while fn runs
// on its goroutine without the baton; fn must not touch Lua. Waits inside
// fn should use w, which a kill (or the runtime's context, from main)
// aborts. It returns fn's error.
func (s *Socket) BlockOn(L *lua.LState, fn func(w *Waiter) error) error {
	w := &Waiter{}
	var err error
	if !kernel.InThread(L) {
		kernel.Block(L, func(cancel <-chan struct{}) {
			if cancel == nil {
				err = fn(w)
				return
			}
			done := make(chan struct{})
			go func() {
				select {
				case <-cancel:
					s.Abort(w)
				case <-done:
				}
			}()
			err = fn(w)
			close(done)
		}, nil)
		return err
	}
	kernel.Block(L, func(<-chan struct{}) { err = fn(w) }, func() { s.Abort(w) })
	return err
}

// wait suspends the calling thread until try succeeds, applying the
// socket timeout to the wait.
func (s *Socket) wait(L *lua.LState, write bool, try func(fd int) bool) error {
	timeout := s.timeout
	return s.BlockOn(L, func(w *Waiter) error { return s.Await(w, write, timeout, try) })
}

// Do runs fn with the descriptor, holding off Close meanwhile, for short
// non-blocking syscalls made from goroutines that do not hold the baton.
// It returns EBADF once the socket is closed.
func (s *Socket) Do(fn func(fd int)) error {
	s.fdmu.RLock()
	defer s.fdmu.RUnlock()
	if s.fd < 0 {
		return unix.EBADF
	}
	fn(s.fd)
	return nil
}

// raiseWait converts a wait failure into the ratchet error.
func raiseWait(L *lua.LState, err error, fn, what, sysc string) {
	switch err {
	case ErrTimeout:
		kernel.RaiseTimeout(L, fn, what)
	case ErrAborted:
		L.RaiseError("%s: wait aborted", fn)
	default:
		kernel.RaiseErrno(L, fn, sysc, unix.EBADF)
	}
}

// ---- I/O ----

var (
	bufPool = sync.Pool{New: func() any { b := make([]byte, BUFSZ); return &b }}
	bigPool = sync.Pool{New: func() any { b := make([]byte, maxRecv); return &b }}
)

// getBuf returns a pooled buffer of at least n (<= maxRecv) bytes.
func getBuf(n int) *[]byte {
	if n <= BUFSZ {
		return bufPool.Get().(*[]byte)
	}
	return bigPool.Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if len(*b) == BUFSZ {
		bufPool.Put(b)
	} else {
		bigPool.Put(b)
	}
}

// read attempts one read(2), retrying on EINTR.
func read(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Read(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// send is send(2) with MSG_NOSIGNAL: a broken connection gives EPIPE, never
// SIGPIPE. It retries on EINTR.
func send(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e == unix.ENOTSOCK {
			// from_fd on a pipe or tty: plain write.
			for {
				n, err := unix.Write(fd, p)
				if err != unix.EINTR {
					return n, err
				}
			}
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// ioOp is a recv or send wait of the Lua-facing hot path. Each socket
// keeps one per direction and reuses it, so that a wait allocates nothing
// beyond what kernel.Block needs.
type ioOp struct {
	s       *Socket
	write   bool
	busy    bool
	w       Waiter
	timeout time.Duration
	buf     []byte
	pooled  int     // >0: read up to this many bytes into a pooled buffer, bp
	bp      *[]byte // taken only once data is there: idle waits hold none
	n       int
	tries   int   // syscalls made by the wait (1: it did not have to park)
	err     error // of the syscall
	werr    error // of the wait
	try     func(fd uintptr) bool
	wait    func(<-chan struct{})
	abort   func()

	abortable bool // waiting from a ratchet thread (not main)
}

func newOp(s *Socket, write bool) *ioOp {
	o := &ioOp{s: s, write: write}
	if write {
		o.try = func(fd uintptr) bool {
			o.n, o.err = send(int(fd), o.buf)
			return o.err != unix.EAGAIN
		}
	} else {
		o.try = func(fd uintptr) bool {
			o.tries++
			buf := o.buf
			if o.pooled > 0 {
				o.bp = getBuf(o.pooled)
				buf = (*o.bp)[:o.pooled]
			}
			o.n, o.err = read(int(fd), buf)
			if o.err == unix.EAGAIN && o.bp != nil {
				putBuf(o.bp)
				o.bp = nil
			}
			return o.err != unix.EAGAIN
		}
	}
	o.wait = func(cancel <-chan struct{}) {
		// From main the kernel runs the wait synchronously and passes the
		// runtime context's Done channel instead of calling abort.
		if cancel != nil && !o.abortable {
			done := make(chan struct{})
			go func() {
				select {
				case <-cancel:
					o.s.Abort(&o.w)
				case <-done:
				}
			}()
			defer close(done)
		}
		o.werr = o.s.await(&o.w, o.write, o.timeout, o.try)
	}
	o.abort = func() { o.s.Abort(&o.w) }
	return o
}

// getOp returns the socket's reusable op for a direction, or a fresh one
// if another thread is already waiting with it.
func (s *Socket) getOp(write bool) *ioOp {
	p := &s.rop
	if write {
		p = &s.wop
	}
	o := *p
	if o == nil {
		o = newOp(s, write)
		*p = o
	}
	if o.busy {
		o = newOp(s, write)
	}
	o.busy = true
	s.mu.Lock()
	o.w = Waiter{}
	s.mu.Unlock()
	return o
}

// run suspends the calling thread until the op's syscall stops returning
// EAGAIN, then returns its result; wait failures are raised.
func (o *ioOp) run(L *lua.LState, buf []byte, fn, what string) int {
	defer func() { o.busy, o.buf, o.pooled = false, nil, 0 }()
	o.buf, o.n, o.tries, o.err, o.werr = buf, 0, 0, nil, nil
	o.timeout = o.s.timeout
	o.abortable = kernel.InThread(L)
	if o.abortable {
		kernel.Block(L, o.wait, o.abort)
	} else {
		kernel.Block(L, o.wait, nil)
	}
	if !o.write {
		o.s.recvParks = o.tries > 1
	}
	if o.werr != nil {
		raiseWait(L, o.werr, fn, what, what)
	}
	if o.err != nil {
		kernel.RaiseErrno(L, fn, what, o.err)
	}
	return o.n
}

// recvPlain reads up to len(buf) bytes from the descriptor, suspending the
// calling thread while nothing is available.
func (s *Socket) recvPlain(L *lua.LState, buf []byte, fn string) int {
	if len(buf) == 0 {
		return 0
	}
	if n, ok := s.recvDirect(L, buf, fn); ok {
		return n
	}
	return s.getOp(false).run(L, buf, fn, "recv")
}

// recvDirect is the attempt made under the baton before any wait.
func (s *Socket) recvDirect(L *lua.LState, buf []byte, fn string) (int, bool) {
	fd := s.fd
	if fd < 0 {
		kernel.RaiseErrno(L, fn, "recv", unix.EBADF)
	}
	// In request/response traffic the previous recv had to wait, and so
	// will this one: skip the direct attempt, the wait tries first anyway.
	// Not with timeout 0, whose wait expires before trying.
	if s.recvParks && s.timeout != 0 {
		return 0, false
	}
	n, err := read(fd, buf)
	if err == nil {
		return n, true
	}
	if err != unix.EAGAIN {
		kernel.RaiseErrno(L, fn, "recv", err)
	}
	return 0, false
}

// recvString receives up to maxlen (<= maxRecv) bytes from the descriptor
// as a Lua string. A thread waiting for data holds no buffer.
func (s *Socket) recvString(L *lua.LState, maxlen int, fn string) lua.LString {
	bp := getBuf(maxlen)
	n, ok := s.recvDirect(L, (*bp)[:maxlen], fn)
	if ok {
		str := lua.LString((*bp)[:n])
		putBuf(bp)
		return str
	}
	putBuf(bp)
	o := s.getOp(false)
	o.pooled = maxlen
	defer func() {
		if o.bp != nil {
			putBuf(o.bp)
			o.bp = nil
		}
	}()
	n = o.run(L, nil, fn, "recv")
	return lua.LString((*o.bp)[:n])
}

// sendPlain makes one send attempt of p, suspending while the kernel
// buffer is full; it returns how many bytes were written.
func (s *Socket) sendPlain(L *lua.LState, p []byte, fn string) int {
	if len(p) == 0 {
		return 0
	}
	fd := s.fd
	if fd < 0 {
		kernel.RaiseErrno(L, fn, "send", unix.EBADF)
	}
	n, err := send(fd, p)
	if err == nil {
		return n
	}
	if err != unix.EAGAIN {
		kernel.RaiseErrno(L, fn, "send", err)
	}
	return s.getOp(true).run(L, p, fn, "send")
}

// Recv reads up to len(buf) bytes (through TLS when encrypted) and returns
// the count; 0 means end of stream. Only the calling ratchet thread
// suspends; the socket timeout applies to each wait. Failures raise ratchet
// errors (ETIMEDOUT "Timed out on recv.", errno errors, TLS errors).
func (s *Socket) Recv(L *lua.LState, buf []byte) int {
	if s.enc != nil {
		return s.enc.Read(L, buf)
	}
	return s.recvPlain(L, buf, "ratchet.socket.recv()")
}

// Send writes all of data (through TLS when encrypted), suspending the
// calling thread as needed; failures raise ratchet errors.
func (s *Socket) Send(L *lua.LState, data []byte) {
	if s.enc != nil {
		s.enc.Write(L, data)
		return
	}
	for len(data) > 0 {
		n := s.sendPlain(L, data, "ratchet.socket.send()")
		data = data[n:]
	}
}
