package ssl

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	"golang.org/x/sys/unix"
)

// transport is the net.Conn crypto/tls runs on. It talks to the socket's
// descriptor directly and never hands crypto/tls more than the rest of the
// current TLS record, so that complete records received ahead stay in rbuf
// where Buffered can see them (defect 4.25).
//
// Reads run in one of two modes, chosen by the session holding its read
// lock: non-blocking (application reads: a read that would block fails
// with errWouldBlock, which crypto/tls treats as temporary, and the session
// then waits for readability without holding buffers) or blocking
// (handshakes and shutdown, inside kernel.Block, waiting with the
// operation's Waiter and the socket timeout). Writes never wait: what the
// kernel does not take is queued in out and sent by flush.
type transport struct {
	s *socket.Socket

	// Read side, guarded by the session's read lock.
	rbuf     []byte  // received bytes not yet given to crypto/tls
	rmem     *[]byte // pooled backing array of rbuf
	left     int     // bytes of the current record still to give (0: at a boundary)
	blocking bool
	flushing bool // blocking reads first send all queued output (handshakes)
	w        *socket.Waiter
	timeout  time.Duration // socket timeout captured when the operation began
	eof      bool          // the peer closed the transport

	omu  sync.Mutex
	out  []byte // ciphertext waiting for the kernel
	werr error  // sticky hard write error
}

// errWouldBlock: a non-blocking read found no data. Temporary, so that
// crypto/tls keeps the connection usable and retries later.
var errWouldBlock = &tempError{}

type tempError struct{}

func (*tempError) Error() string   { return "operation would block" }
func (*tempError) Timeout() bool   { return true }
func (*tempError) Temporary() bool { return true }

const recordHeader = 5

// rawBufSize holds the largest TLS record (2^14 + 2048 + header) plus slack.
const rawBufSize = 16384 + 2048 + recordHeader + 1024

var rawPool = sync.Pool{New: func() any { b := make([]byte, rawBufSize); return &b }}

func (t *transport) setMode(blocking bool, w *socket.Waiter, timeout time.Duration) {
	t.blocking, t.w, t.timeout = blocking, w, timeout
}

// recordLen returns the full length of the record starting at b, or 0 if
// its header is incomplete.
func recordLen(b []byte) int {
	if len(b) < recordHeader {
		return 0
	}
	return recordHeader + int(binary.BigEndian.Uint16(b[3:5]))
}

// hasRecord reports whether a complete record is waiting in rbuf.
func (t *transport) hasRecord() bool {
	if t.left > 0 {
		return len(t.rbuf) >= t.left
	}
	n := recordLen(t.rbuf)
	return n > 0 && len(t.rbuf) >= n
}

// deliver copies buffered bytes of the current record into p.
func (t *transport) deliver(p []byte) int {
	if t.left == 0 {
		t.left = recordLen(t.rbuf)
		if t.left == 0 {
			return 0
		}
	}
	n := min(len(p), t.left, len(t.rbuf))
	copy(p, t.rbuf[:n])
	t.rbuf = t.rbuf[n:]
	t.left -= n
	if len(t.rbuf) == 0 && t.rmem != nil {
		rawPool.Put(t.rmem)
		t.rmem, t.rbuf = nil, nil
	}
	return n
}

// space returns free room at the end of rbuf, compacting or allocating.
func (t *transport) space() []byte {
	if t.rmem == nil {
		t.rmem = rawPool.Get().(*[]byte)
		t.rbuf = (*t.rmem)[:0]
	}
	full := *t.rmem
	if off := cap(full) - cap(t.rbuf); off > 0 { // rbuf starts inside full: compact
		n := copy(full, t.rbuf)
		t.rbuf = full[:n]
	}
	return full[len(t.rbuf):]
}

func readFD(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// fill reads more bytes from the descriptor into rbuf.
func (t *transport) fill() error {
	sp := t.space()
	var n int
	var err error
	if derr := t.s.Do(func(fd int) { n, err = readFD(fd, sp) }); derr != nil {
		return derr
	}
	if err == unix.EAGAIN {
		if !t.blocking {
			t.releaseEmpty()
			return errWouldBlock
		}
		werr := t.s.Await(t.w, false, t.timeout, func(fd int) bool {
			n, err = readFD(fd, sp)
			return err != unix.EAGAIN
		})
		if werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	if n == 0 {
		t.eof = true
		return nil
	}
	t.rbuf = t.rbuf[:len(t.rbuf)+n]
	return nil
}

// Read implements net.Conn for crypto/tls.
func (t *transport) Read(p []byte) (int, error) {
	// During a handshake, the flight we queued must leave before we wait
	// for the peer's answer. Otherwise only try: a reader waiting for
	// writability could deadlock with a peer that waits for us to read.
	if t.blocking && t.flushing {
		if err := t.flush(t.w, t.timeout); err != nil {
			return 0, err
		}
	} else {
		_ = t.tryFlush() // a write failure is reported by the next write
	}
	for {
		if n := t.deliver(p); n > 0 {
			return n, nil
		}
		if t.eof {
			return 0, io.EOF
		}
		if err := t.fill(); err != nil {
			return 0, err
		}
	}
}

func sendFD(fd int, p []byte) (int, error) {
	for {
		n, err := unix.SendmsgN(fd, p, nil, nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// Write implements net.Conn: it sends what the kernel takes now and queues
// the rest; it never waits.
func (t *transport) Write(p []byte) (int, error) {
	t.omu.Lock()
	defer t.omu.Unlock()
	if t.werr != nil {
		return 0, t.werr
	}
	total := len(p)
	if len(t.out) == 0 {
		var n int
		var err error
		if derr := t.s.Do(func(fd int) { n, err = sendFD(fd, p) }); derr != nil {
			err = derr
		}
		if err != nil && err != unix.EAGAIN {
			t.werr = err
			return 0, err
		}
		if err == nil {
			p = p[n:]
		}
	}
	t.out = append(t.out, p...)
	return total, nil
}

// sendQueued makes one non-blocking attempt to send queued output; it
// reports whether the queue is now empty.
func (t *transport) sendQueued() (bool, error) {
	t.omu.Lock()
	defer t.omu.Unlock()
	if t.werr != nil {
		return false, t.werr
	}
	for len(t.out) > 0 {
		var n int
		var err error
		if derr := t.s.Do(func(fd int) { n, err = sendFD(fd, t.out) }); derr != nil {
			err = derr
		}
		if err == unix.EAGAIN {
			return false, nil
		}
		if err != nil {
			t.werr = err
			return false, err
		}
		t.out = t.out[n:]
	}
	t.out = nil
	return true, nil
}

func (t *transport) pendingOut() bool {
	t.omu.Lock()
	defer t.omu.Unlock()
	return len(t.out) > 0
}

func (t *transport) tryFlush() error {
	_, err := t.sendQueued()
	return err
}

// flush sends all queued output, waiting with w (timeout per wait).
func (t *transport) flush(w *socket.Waiter, timeout time.Duration) error {
	for {
		done, err := t.sendQueued()
		if err != nil || done {
			return err
		}
		werr := t.s.Await(w, true, timeout, func(fd int) bool { return pollWritable(fd) })
		if werr != nil {
			return werr
		}
	}
}

// releaseEmpty returns an empty receive buffer to the pool, so that an
// idle session holds none.
func (t *transport) releaseEmpty() {
	if len(t.rbuf) == 0 && t.rmem != nil {
		rawPool.Put(t.rmem)
		t.rmem, t.rbuf = nil, nil
	}
}

func pollWritable(fd int) bool { return pollFD(fd, unix.POLLOUT) }

func pollReadable(fd int) bool { return pollFD(fd, unix.POLLIN) }

func pollFD(fd int, ev int16) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: ev}}
	for {
		n, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

// The rest of net.Conn: deadlines are managed per wait by the session, so
// crypto/tls's own deadline calls (around close_notify) are ignored.
func (t *transport) Close() error                     { return t.s.Close() }
func (t *transport) LocalAddr() net.Addr              { return t.s.LocalAddr() }
func (t *transport) RemoteAddr() net.Addr             { return t.s.PeerAddr() }
func (t *transport) SetDeadline(time.Time) error      { return nil }
func (t *transport) SetReadDeadline(time.Time) error  { return nil }
func (t *transport) SetWriteDeadline(time.Time) error { return nil }
