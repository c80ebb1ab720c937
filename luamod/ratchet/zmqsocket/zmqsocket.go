// Package zmqsocket implements ratchet.zmqsocket (spec ratchet.md 2.9) on
// the pure-Go ZMTP library github.com/go-zeromq/zmq4. Frames are sent and
// received one at a time as in the ZeroMQ 2.x API the original wrapped;
// blocking operations suspend only the calling ratchet thread.
package zmqsocket

import (
	"context"
	"errors"
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
)

const metaKey = "ratchet.zmqsocket.meta"

// constructors by ratchet type name; XREQ/XREP are the old names of
// DEALER/ROUTER. REP is built on ROUTER here (as libzmq does): zmq4's own
// REP hands replies to a background writer, so a reply followed at once
// by close() could be lost, while ROUTER writes synchronously.
var constructors = map[string]func(context.Context, ...zmq4.Option) zmq4.Socket{
	"PAIR": zmq4.NewPair, "PUB": zmq4.NewPub, "SUB": zmq4.NewSub,
	"REQ": zmq4.NewReq, "REP": zmq4.NewRouter, "XREQ": zmq4.NewDealer,
	"XREP": zmq4.NewRouter, "PULL": zmq4.NewPull, "PUSH": zmq4.NewPush,
}

type recvResult struct {
	msg zmq4.Msg
	err error
}

// Socket is the Go value behind a zmqsocket object. It implements
// kernel.Waitable: readable when a received message part is waiting.
type Socket struct {
	sock    zmq4.Socket
	rep     bool // REP semantics over a ROUTER socket
	cancel  context.CancelFunc
	timeout float64 // seconds; negative: none
	untrack func()

	// Frames of the message being built by send(data, true).
	outFrames [][]byte

	mu        sync.Mutex
	closed    bool
	inFrames  [][]byte      // rest of the current received message
	inErr     error         // failure of the last background receive
	replyTo   [][]byte      // REP: routing envelope of the last request
	receiving bool          // a background Recv is running
	arrived   chan struct{} // closed when that Recv finishes
}

// Ready implements kernel.Waitable.
func (s *Socket) Ready(write bool) bool {
	if write {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || len(s.inFrames) > 0 || s.inErr != nil
}

// WaitReady implements kernel.Waitable.
func (s *Socket) WaitReady(write bool, cancel <-chan struct{}) {
	if write {
		return
	}
	ch := s.startRecv()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-cancel:
	}
}

// startRecv makes sure one background Recv runs and returns the channel
// closed when it finishes, or nil when data (or an error) is already
// waiting. A receive abandoned by a timed-out or killed thread is kept for
// the next recv, so no message is lost.
func (s *Socket) startRecv() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.inFrames) > 0 || s.inErr != nil {
		return nil
	}
	if s.receiving {
		return s.arrived
	}
	s.receiving = true
	ch := make(chan struct{})
	s.arrived = ch
	go func() {
		var frames, envelope [][]byte
		var err error
		for {
			var msg zmq4.Msg
			msg, err = s.sock.Recv()
			if err != nil || !s.rep {
				frames = msg.Frames
				break
			}
			var ok bool
			if envelope, frames, ok = splitEnvelope(msg.Frames); ok {
				break
			}
			// A request without the empty delimiter is dropped, as
			// libzmq's REP does.
		}
		s.mu.Lock()
		s.receiving = false
		if err != nil {
			s.inErr = err
		} else {
			if len(frames) == 0 {
				frames = [][]byte{nil}
			}
			s.inFrames = frames
			if s.rep {
				s.replyTo = envelope
			}
		}
		s.mu.Unlock()
		close(ch)
	}()
	return ch
}

// splitEnvelope separates a request seen by ROUTER into its routing
// envelope (peer identity ... empty delimiter) and its body.
func splitEnvelope(frames [][]byte) (envelope, body [][]byte, ok bool) {
	for i := 1; i < len(frames); i++ {
		if len(frames[i]) == 0 {
			return frames[:i+1], frames[i+1:], true
		}
	}
	return nil, nil, false
}

// takeFrame pops the next received part: (data, more, error, ok).
func (s *Socket) takeFrame() ([]byte, bool, error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inErr != nil {
		err := s.inErr
		s.inErr = nil
		return nil, false, err, true
	}
	if len(s.inFrames) == 0 {
		return nil, false, nil, false
	}
	f := s.inFrames[0]
	s.inFrames = s.inFrames[1:]
	return f, len(s.inFrames) > 0, nil, true
}

// Close implements io.Closer (also used by kernel.Track).
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	return s.sock.Close()
}

// Open builds the ratchet.zmqsocket table.
func Open(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("new", L.NewFunction(sockNew))
	t.RawSetString("prepare_uri", L.NewFunction(prepareURI))
	return t
}

// prepareURI splits "type:endpoint" at the first colon.
func prepareURI(L *lua.LState) int {
	uri := luaarg.CheckString(L, 1, "ratchet.zmqsocket.prepare_uri")
	t := L.CreateTable(0, 2)
	if typ, ep, ok := strings.Cut(uri, ":"); ok {
		t.RawSetString("type", lua.LString(strings.ToUpper(typ)))
		t.RawSetString("endpoint", lua.LString(ep))
	} else {
		t.RawSetString("endpoint", lua.LString(uri))
	}
	L.Push(t)
	return 1
}

var quiet = log.New(io.Discard, "", 0)

func sockNew(L *lua.LState) int {
	const fname = "ratchet.zmqsocket.new"
	typ := strings.ToUpper(luaarg.OptString(L, 1, fname, "PAIR"))
	ctor, ok := constructors[typ]
	if !ok {
		luaarg.ArgError(L, 1, fname, "invalid option '"+luaarg.OptString(L, 1, fname, "")+"'")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Socket{
		rep: typ == "REP",
		sock: ctor(ctx,
			zmq4.WithLogger(quiet),
			zmq4.WithDialerRetry(100*time.Millisecond),
			zmq4.WithDialerMaxRetries(50)),
		cancel:  cancel,
		timeout: -1,
	}
	s.untrack = kernel.Track(L, s)
	ud := L.NewUserData()
	ud.Value = s
	L.SetMetatable(ud, meta(L))
	L.Push(ud)
	return 1
}

func meta(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, metaKey, socketMethods)
}

var socketMethods = map[string]lua.LGFunction{
	"bind":              sockBind,
	"connect":           sockConnect,
	"send":              sockSend,
	"rawsend":           sockSend,
	"recv":              sockRecv,
	"rawrecv":           sockRawRecv,
	"recv_all":          sockRecvAll,
	"close":             sockClose,
	"get_fd":            sockGetFd,
	"get_timeout":       sockGetTimeout,
	"set_timeout":       sockSetTimeout,
	"is_readable":       sockIsReadable,
	"is_writable":       sockIsWritable,
	"is_rcvmore":        sockIsRcvmore,
	"get_last_endpoint": sockLastEndpoint,
}

func check(L *lua.LState, fname string) *Socket {
	return luaarg.CheckUserData[*Socket](L, 1, fname, "ratchet.zmqsocket object")
}

func raise(L *lua.LState, fn string, err error) {
	e := kernel.ErrnoError(fn, "", err)
	e.Syscall = ""
	kernel.Raise(L, e)
}

func (s *Socket) checkOpen(L *lua.LState, fn string) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		kernel.Raise(L, kernel.Error{Description: "Socket is closed.", Code: "EBADF", Function: fn})
	}
}

func sockBind(L *lua.LState) int {
	s := check(L, "bind")
	ep := luaarg.CheckString(L, 2, "bind")
	s.checkOpen(L, "ratchet.zmqsocket.bind()")
	if err := s.sock.Listen(ep); err != nil {
		raise(L, "ratchet.zmqsocket.bind()", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// sockConnect dials the peer; the handshake (and zmq4's retries while the
// peer is not listening yet) runs with only the calling thread waiting.
func sockConnect(L *lua.LState) int {
	s := check(L, "connect")
	ep := luaarg.CheckString(L, 2, "connect")
	s.checkOpen(L, "ratchet.zmqsocket.connect()")
	var err error
	done := make(chan struct{})
	go func() {
		err = s.sock.Dial(ep)
		close(done)
	}()
	cancelled := false
	kernel.Block(L, func(cancel <-chan struct{}) {
		select {
		case <-done:
		case <-cancel:
			cancelled = true
		}
	}, nil)
	if cancelled {
		s.Close()
		kernel.Raise(L, kernel.Error{Description: "Connect cancelled.", Code: "ECONNABORTED", Function: "ratchet.zmqsocket.connect()"})
	}
	if err != nil {
		raise(L, "ratchet.zmqsocket.connect()", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// deadline converts the socket timeout into a wait limit (< 0: none).
func (s *Socket) limit() time.Duration {
	if s.timeout < 0 {
		return -1
	}
	return time.Duration(s.timeout * float64(time.Second))
}

// waitFor blocks the calling thread until ch closes or the socket timeout
// expires; it reports whether ch closed.
func (s *Socket) waitFor(L *lua.LState, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
	}
	limit := s.limit()
	if limit == 0 {
		return false
	}
	kernel.Block(L, func(cancel <-chan struct{}) {
		var tc <-chan time.Time
		if limit > 0 {
			tm := time.NewTimer(limit)
			defer tm.Stop()
			tc = tm.C
		}
		select {
		case <-ch:
		case <-tc:
		case <-cancel:
		}
	}, nil)
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func noPeers(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no connections available")
}

// sendMsg sends one complete message in the background, retrying while
// the socket has no peer yet (libzmq queues until one connects).
func (s *Socket) sendMsg(frames [][]byte) (done chan struct{}, errp *error, abandon func()) {
	done = make(chan struct{})
	var err error
	var gaveUp atomic.Bool
	go func() {
		defer close(done)
		backoff := 5 * time.Millisecond
		for {
			if len(frames) == 1 {
				err = s.sock.Send(zmq4.NewMsg(frames[0]))
			} else {
				err = s.sock.SendMulti(zmq4.NewMsgFrom(frames...))
			}
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !noPeers(err) || closed || gaveUp.Load() {
				return
			}
			time.Sleep(backoff)
			if backoff < 100*time.Millisecond {
				backoff *= 2
			}
		}
	}()
	return done, &err, func() { gaveUp.Store(true) }
}

// sockSend queues one part; the message goes out with the last part
// (more false). Returns true, or nothing when the socket timeout expired.
func sockSend(L *lua.LState) int {
	const fn = "ratchet.zmqsocket.send()"
	s := check(L, "send")
	data := []byte(luaarg.CheckString(L, 2, "send"))
	more := lua.LVAsBool(L.Get(3))
	s.checkOpen(L, fn)
	s.outFrames = append(s.outFrames, data)
	if more {
		L.Push(lua.LTrue)
		return 1
	}
	frames := s.outFrames
	s.outFrames = nil
	if s.rep {
		s.mu.Lock()
		env := s.replyTo
		s.replyTo = nil
		s.mu.Unlock()
		if env == nil {
			kernel.Raise(L, kernel.Error{Description: "Operation cannot be accomplished in current state",
				Code: "EFSM", Function: fn})
		}
		frames = append(append([][]byte(nil), env...), frames...)
	}
	done, errp, abandon := s.sendMsg(frames)
	if !s.waitFor(L, done) {
		// Like a ZeroMQ send that found no room: the message is dropped
		// unless it is already on its way.
		abandon()
		return 0
	}
	if *errp != nil {
		raise(L, fn, *errp)
	}
	L.Push(lua.LTrue)
	return 1
}

// recvFrame returns the next part, suspending up to the socket timeout
// (wait false: only what is already there).
func (s *Socket) recvFrame(L *lua.LState, fn string, wait bool) ([]byte, bool, bool) {
	s.checkOpen(L, fn)
	for {
		data, more, err, ok := s.takeFrame()
		if ok {
			if err != nil {
				if errors.Is(err, context.Canceled) {
					kernel.Raise(L, kernel.Error{Description: "Socket is closed.", Code: "EBADF", Function: fn})
				}
				raise(L, fn, err)
			}
			return data, more, true
		}
		s.checkOpen(L, fn) // closed by another thread meanwhile
		ch := s.startRecv()
		if ch == nil {
			continue
		}
		if !wait || !s.waitFor(L, ch) {
			return nil, false, false
		}
	}
}

func sockRecv(L *lua.LState) int    { return recvOne(L, "recv", true) }
func sockRawRecv(L *lua.LState) int { return recvOne(L, "rawrecv", false) }

// recvOne is recv (waits up to the timeout) and rawrecv (takes only what
// is already there): one frame and whether more parts follow.
func recvOne(L *lua.LState, method string, wait bool) int {
	s := check(L, method)
	data, more, ok := s.recvFrame(L, "ratchet.zmqsocket."+method+"()", wait)
	if !ok {
		return 0
	}
	L.Push(lua.LString(data))
	L.Push(lua.LBool(more))
	return 2
}

// sockRecvAll returns every part of one message concatenated.
func sockRecvAll(L *lua.LState) int {
	s := check(L, "recv_all")
	var b []byte
	for {
		data, more, ok := s.recvFrame(L, "ratchet.zmqsocket.recv_all()", true)
		if !ok {
			if b == nil {
				return 0
			}
			break
		}
		b = append(b, data...)
		if !more {
			break
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func sockClose(L *lua.LState) int {
	s := check(L, "close")
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return 0
	}
	_ = s.Close()
	s.untrack()
	L.Push(lua.LTrue)
	return 1
}

// sockGetFd: zmq4 sockets have no descriptor to poll; block_on and
// multi-waits use the Go object directly.
func sockGetFd(L *lua.LState) int {
	check(L, "get_fd")
	L.Push(lua.LNumber(-1))
	return 1
}

func sockGetTimeout(L *lua.LState) int {
	L.Push(lua.LNumber(check(L, "get_timeout").timeout))
	return 1
}

func sockSetTimeout(L *lua.LState) int {
	s := check(L, "set_timeout")
	s.timeout = luaarg.CheckNumber(L, 2, "set_timeout")
	return 0
}

func sockIsReadable(L *lua.LState) int {
	L.Push(lua.LBool(check(L, "is_readable").Ready(false)))
	return 1
}

func sockIsWritable(L *lua.LState) int {
	s := check(L, "is_writable")
	s.mu.Lock()
	defer s.mu.Unlock()
	L.Push(lua.LBool(!s.closed))
	return 1
}

func sockIsRcvmore(L *lua.LState) int {
	s := check(L, "is_rcvmore")
	s.mu.Lock()
	defer s.mu.Unlock()
	L.Push(lua.LBool(len(s.inFrames) > 0))
	return 1
}

// sockLastEndpoint is an extension (ZMQ_LAST_ENDPOINT): the address a
// bound socket listens on, so tests can bind port 0.
func sockLastEndpoint(L *lua.LState) int {
	s := check(L, "get_last_endpoint")
	a := s.sock.Addr()
	if a == nil {
		return 0
	}
	network := a.Network()
	if network == "unix" {
		network = "ipc"
	}
	L.Push(lua.LString(network + "://" + a.String()))
	return 1
}
