package smtp

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/slimta-lua/slimta-lua/internal/ltable"
	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	lua "github.com/yuin/gopher-lua"
)

// Limits of the server session. They protect the process from misbehaving
// clients; the spec's original had none.
var (
	// MaxCommandLine is the longest command line accepted, CRLF included
	// (RFC 5321 4.5.3.1.5 text line; command lines are shorter still).
	MaxCommandLine = 1000
	// MaxErrors is the number of protocol errors (unknown commands, syntax
	// and sequence errors, overlong lines) after which the session ends
	// with 421.
	MaxErrors = 20
	// MaxRecipients per transaction (RFC 5321 4.5.3.1.8 requires >= 100).
	MaxRecipients = 1000
	// DataHardLimit caps message data when no smaller SIZE limit is
	// advertised, so that nothing unbounded is buffered.
	DataHardLimit int64 = 100 << 20
	// FlushThreshold: queued replies are written once they exceed this.
	FlushThreshold = 8192
)

// hookNames are handler methods that are not SMTP commands: a client must
// not reach them as custom verbs (defect 4.22).
var hookNames = map[string]bool{
	"BANNER": true, "CLOSE": true, "HAVE_DATA": true, "EHLO": true, "HELO": true,
	"STARTTLS": true, "MAIL": true, "RCPT": true, "DATA": true, "RSET": true,
	"NOOP": true, "QUIT": true,
}

type reply struct{ code, message, esc string }

var (
	replySyntax     = reply{"500", "Syntax error, command unrecognized", "5.5.2"}
	replyArgs       = reply{"501", "Syntax error in parameters or arguments", "5.5.4"}
	replySequence   = reply{"503", "Bad sequence of commands", "5.5.1"}
	replyNotImpl    = reply{"504", "Command parameter not implemented", "5.5.4"}
	replyTooLong    = reply{"500", "Line too long", "5.5.2"}
	replyNUL        = reply{"500", "NUL character in command", "5.5.2"}
	replyTimeout    = reply{"421", "Connection timed out.", "4.4.2"}
	replyUnhandled  = reply{"421", "Unhandled system error.", "4.3.0"}
	replyTooMany    = reply{"421", "Too many errors, closing connection.", "4.7.0"}
	replyTooManyRcp = reply{"452", "Too many recipients", "4.5.3"}
)

// Hooks the offline mode needs to know about (snapshot per stretch).
const (
	hEHLO = iota
	hMAIL
	hRCPT
	hDATA
	hHAVEDATA
	hRSET
	hNOOP
	hQUIT
	numHooks
)

var hookIDNames = [numHooks]string{"EHLO", "MAIL", "RCPT", "DATA", "HAVE_DATA", "RSET", "NOOP", "QUIT"}

// What stopped an offline stretch.
const (
	pendNone  = iota
	pendLine  // a command that needs Lua: run it online
	pendData  // message read; HAVE_DATA must run online
	pendEOF   // peer closed
	pendErr   // I/O failure: raise it online
	pendPanic // bug in offline code: raise it online
)

// session is one run of server:handle().
//
// The session runs "online" (holding the kernel baton) whenever Lua code
// must run: hooks, TLS, EHLO. Everything else (reading and parsing commands,
// hook-less commands, reading message data, writing replies) runs in
// offline stretches inside socket.BlockOn, without the baton, so a message
// costs one kernel hand-off instead of one per command.
type session struct {
	L        *lua.LState
	self     *lua.LTable
	handlers lua.LValue
	io       *IO
	extObj   lua.LValue
	tlsCtx   lua.LValue
	tlsNow   bool

	ehloAs    string
	hasEhlo   bool
	esmtp     bool // an EHLO (not HELO) was accepted since the start or TLS
	haveMail  bool
	rcpts     int
	usingTLS  bool
	badBanner bool
	errors    int
	quit      bool
	data      DataReader

	// The envelope accepted so far (MAIL/RCPT replies of 250), handed to
	// HAVE_DATA so that handlers need no MAIL/RCPT hooks (which would force
	// those commands online) just to remember it.
	sender     lua.LValue
	recipients []lua.LValue
	// DATA was answered 354 online; the next offline stretch reads the
	// message without the baton.
	readPending bool

	// Fields last written to the Lua object (synced before hooks run).
	synced struct {
		ehloAs        string
		hasEhlo, mail bool
		rcpt, tls     bool
		esmtp         bool
	}

	// EHLO extension lines read at the start of a stretch, so that a
	// session's first EHLO can be answered offline (the keyword table is
	// Lua data, readable only with the baton). Taken only before the first
	// accepted EHLO/HELO, where clients send it.
	extSnap   string
	extSnapOK bool

	offline  bool
	snap     [numHooks]bool
	sizeLim  int64
	sizeAdv  bool
	pend     int
	pendLine []byte
	panicVal any
}

func newSession(L *lua.LState, self *lua.LTable) *session {
	s := &session{L: L, self: self}
	s.handlers = self.RawGetString("handlers")
	s.io = checkIOValue(L, self.RawGetString("io"))
	s.extObj = self.RawGetString("extensions")
	s.tlsCtx = self.RawGetString("tls_context")
	if s.tlsCtx == lua.LTrue || s.tlsCtx == lua.LFalse {
		s.tlsCtx = lua.LNil
	}
	s.tlsNow = lua.LVAsBool(self.RawGetString("tls_immediately"))
	s.usingTLS = lua.LVAsBool(self.RawGetString("using_tls"))
	s.synced.tls = s.usingTLS
	if eh, ok := self.RawGetString("ehlo_as").(lua.LString); ok {
		s.ehloAs, s.hasEhlo = string(eh), true
		s.synced.ehloAs, s.synced.hasEhlo = s.ehloAs, true
	}
	return s
}

// hook returns handlers[name] (honouring __index) or nil. Online only.
func (s *session) hook(name string) lua.LValue {
	switch s.handlers.(type) {
	case *lua.LTable, *lua.LUserData:
	default:
		return nil
	}
	fn := s.L.GetField(s.handlers, name)
	if fn == lua.LNil {
		return nil
	}
	return fn
}

func (s *session) hasHook(id int) bool {
	if s.offline {
		return s.snap[id]
	}
	return s.hook(hookIDNames[id]) != nil
}

// syncState writes the session state fields of the server object.
func (s *session) syncState() {
	y := &s.synced
	if s.hasEhlo != y.hasEhlo || s.ehloAs != y.ehloAs {
		if s.hasEhlo {
			s.self.RawSetString("ehlo_as", lua.LString(s.ehloAs))
		} else {
			s.self.RawSetString("ehlo_as", lua.LNil)
		}
		y.hasEhlo, y.ehloAs = s.hasEhlo, s.ehloAs
	}
	if s.haveMail != y.mail {
		s.self.RawSetString("have_mailfrom", luaBool(s.haveMail))
		y.mail = s.haveMail
	}
	if rc := s.rcpts > 0; rc != y.rcpt {
		s.self.RawSetString("have_rcptto", luaBool(rc))
		y.rcpt = rc
	}
	if s.usingTLS != y.tls {
		s.self.RawSetString("using_tls", luaBool(s.usingTLS))
		y.tls = s.usingTLS
	}
	if s.esmtp != y.esmtp {
		s.self.RawSetString("esmtp", luaBool(s.esmtp))
		y.esmtp = s.esmtp
	}
}

func luaBool(b bool) lua.LValue {
	if b {
		return lua.LTrue
	}
	return lua.LNil
}

// callHook calls handlers:name(reply, args...) when the hook exists, with
// a reply table pre-filled from r, and reads the (possibly changed) reply
// back. Online only; hook errors propagate.
func (s *session) callHook(name string, r *reply, args ...lua.LValue) {
	fn := s.hook(name)
	if fn == nil {
		return
	}
	s.syncState()
	L := s.L
	t := L.CreateTable(0, 0)
	var esc lua.LValue = lua.LNil
	if r.esc != "" {
		esc = lua.LString(r.esc)
	}
	ltable.Fill(t, replyKeys, []lua.LValue{lua.LString(r.code), lua.LString(r.message), esc})
	L.Push(fn)
	L.Push(s.handlers)
	L.Push(t)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(2+len(args), 0)
	readReply(t, r)
}

var replyKeys = ltable.Keys("code", "message", "enhanced_status_code")

func readReply(t *lua.LTable, r *reply) {
	if c := t.RawGetString("code"); c != lua.LNil {
		r.code = valueString(c)
	}
	r.message = valueString(t.RawGetString("message"))
	if e, ok := t.RawGetString("enhanced_status_code").(lua.LString); ok {
		r.esc = string(e)
	} else {
		r.esc = ""
	}
}

// valueString is tostring for the values a reply field may hold.
func valueString(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return x.String()
	case *lua.LNilType:
		return ""
	}
	return v.String()
}

// send queues a reply with enhanced-status-code formatting.
func (s *session) send(r reply) {
	s.io.SendReply(r.code, ApplyESC(r.code, r.message, r.esc))
	s.maybeFlush()
}

// sendPlain queues a reply verbatim (banner, EHLO, custom replies).
func (s *session) sendPlain(r reply) {
	s.io.SendReply(r.code, r.message)
	s.maybeFlush()
}

// maybeFlush writes queued replies unless more pipelined commands are
// already waiting (RFC 2920: replies to a pipelined group may be batched).
// Online, a reply that the next offline stretch can write is left queued:
// that stretch flushes before it reads, without holding the baton, so the
// write system call (costly on loopback, where it runs the receiver's TCP
// path) no longer delays every other Lua thread.
func (s *session) maybeFlush() {
	if !s.offline && !s.quit && s.io.CanOffline() && s.io.Pending() <= FlushThreshold {
		return
	}
	if s.io.Pending() > FlushThreshold || !s.io.HasLine() {
		_ = s.io.Flush(s.L) // offline failures are sticky in io.err
	}
}

func (s *session) protoError(r reply) {
	s.send(r)
	s.countError()
}

func (s *session) countError() {
	s.errors++
	if s.errors >= MaxErrors && !s.quit {
		s.send(replyTooMany)
		_ = s.io.Flush(s.L)
		s.quit = true
	}
}

func (s *session) resetTransaction() {
	s.haveMail = false
	s.rcpts = 0
	s.sender = nil
	clear(s.recipients)
	s.recipients = s.recipients[:0]
}

// extTable returns the extensions object's keyword table. Online only.
func (s *session) extTable() *lua.LTable {
	if t, ok := s.extObj.(*lua.LTable); ok {
		if e, ok := t.RawGetString("extensions").(*lua.LTable); ok {
			return e
		}
	}
	return nil
}

func (s *session) hasExt(kw string) (lua.LValue, bool) {
	if t := s.extTable(); t != nil {
		v := t.RawGetString(kw)
		return v, v != lua.LNil && v != lua.LFalse
	}
	return lua.LNil, false
}

// sizeLimit returns the advertised SIZE limit (-1: none or unlimited) and
// whether SIZE is advertised at all (snapshot when offline).
func (s *session) sizeLimit() (int64, bool) {
	if s.offline {
		return s.sizeLim, s.sizeAdv
	}
	v, ok := s.hasExt("SIZE")
	if !ok {
		return -1, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(valueString(v)), 10, 64)
	if err != nil || n <= 0 {
		return -1, true
	}
	return n, true
}

// run is the protected body of handle().
func (s *session) run(L *lua.LState) int {
	_ = s.io.sock.SetNoDelay(true)
	if s.tlsNow && s.tlsCtx != lua.LNil {
		if fn := s.hook("STARTTLS"); fn != nil {
			s.syncState()
			L.Push(fn)
			L.Push(s.handlers)
			L.Push(L.NewTable())
			L.Push(s.extObj)
			L.Call(3, 0)
		}
		s.encrypt()
	}
	b := reply{"220", "ESMTP ratchet SMTP server " + versionString, ""}
	s.callHook("BANNER", &b)
	s.badBanner = !strings.HasPrefix(b.code, "2")
	s.sendPlain(b)
	for !s.quit {
		if s.io.CanOffline() {
			s.stretch()
			pend := s.pend
			s.pend = pendNone
			switch pend {
			case pendLine:
				s.command(s.pendLine)
			case pendData:
				s.finishData()
			case pendEOF:
				return 0
			case pendErr:
				err, op := s.io.EndOffline()
				RaiseOffline(L, err, op)
			case pendPanic:
				L.RaiseError("ratchet.smtp.server: internal error: %v", s.panicVal)
			}
			continue
		}
		line, err := s.io.ReadLine(L, MaxCommandLine)
		switch err {
		case nil:
			s.command(line)
		case errTooLong:
			s.protoError(replyTooLong)
		default: // end of stream: the session ends silently
			return 0
		}
	}
	return 0
}

// stretch runs the session offline until something needs Lua.
func (s *session) stretch() {
	for i := range s.snap {
		s.snap[i] = s.hook(hookIDNames[i]) != nil
	}
	s.sizeLim, s.sizeAdv = s.sizeLimit()
	s.extSnapOK = !s.hasEhlo && !s.snap[hEHLO]
	if s.extSnapOK {
		s.extSnap = strings.Join(ExtensionLines(s.extTable()), "\r\n")
	}
	io := s.io
	_ = io.raw.BlockOn(s.L, func(w *socket.Waiter) error {
		io.BeginOffline(w)
		s.offline = true
		defer func() {
			s.offline = false
			if p := recover(); p != nil {
				s.pend, s.panicVal = pendPanic, p
			}
			if s.pend != pendErr {
				io.EndOffline()
			}
		}()
		if s.readPending {
			s.readPending = false
			s.readData()
			if io.err != nil {
				s.pend = pendErr
			}
		}
		for !s.quit && s.pend == pendNone {
			line, err := io.ReadLine(s.L, MaxCommandLine)
			switch err {
			case nil:
				s.command(line)
			case errTooLong:
				s.protoError(replyTooLong)
			case errEOF:
				s.pend = pendEOF
			}
			if io.err != nil {
				s.pend = pendErr
			}
		}
		return nil
	})
}

// offlineOK reports whether verb can be handled without running Lua.
func (s *session) offlineOK(verb []byte) bool {
	switch string(verb) {
	case "EHLO":
		return s.extSnapOK
	case "HELO":
		return !s.snap[hEHLO]
	case "MAIL":
		return !s.snap[hMAIL]
	case "RCPT":
		return !s.snap[hRCPT]
	case "DATA":
		return !s.snap[hDATA]
	case "RSET":
		return !s.snap[hRSET]
	case "NOOP":
		return !s.snap[hNOOP]
	case "QUIT":
		return !s.snap[hQUIT]
	}
	return false
}

const versionString = "0.8.2"

func (s *session) command(line []byte) {
	if bytes.IndexByte(line, 0) >= 0 {
		s.protoError(replyNUL)
		return
	}
	verb, arg := ParseCommand(line)
	if s.badBanner && string(verb) != "QUIT" {
		s.protoError(replySequence)
		return
	}
	if s.offline && !s.offlineOK(verb) {
		s.pendLine = append(s.pendLine[:0], line...)
		s.pend = pendLine
		return
	}
	switch string(verb) {
	case "EHLO":
		s.ehlo(arg, false)
	case "HELO":
		s.ehlo(arg, true)
	case "MAIL":
		s.mail(arg)
	case "RCPT":
		s.rcpt(arg)
	case "DATA":
		s.dataCmd(arg)
	case "RSET":
		r := reply{"250", "Ok", "2.0.0"}
		if len(arg) > 0 {
			r = replyArgs
		}
		s.callHookIf(hRSET, &r)
		if r.code == "250" {
			s.resetTransaction()
		}
		s.send(r)
	case "NOOP":
		r := reply{"250", "Ok", "2.0.0"}
		s.callHookIf(hNOOP, &r)
		s.send(r)
	case "QUIT":
		r := reply{"221", "Bye", "2.0.0"}
		if len(arg) > 0 {
			r = replyArgs
		}
		s.callHookIf(hQUIT, &r)
		s.send(r)
		_ = s.io.Flush(s.L)
		s.quit = true
	case "STARTTLS":
		s.starttls(arg)
	default:
		s.custom(verb, arg)
	}
}

// callHookIf runs a snapshot-able hook; offline it is known to be absent.
func (s *session) callHookIf(id int, r *reply, args ...lua.LValue) {
	if !s.offline {
		s.callHook(hookIDNames[id], r, args...)
	}
}

func (s *session) ehlo(arg []byte, helo bool) {
	r := reply{"250", "", ""}
	if len(arg) == 0 {
		r = replyArgs
		r.message = ApplyESC(r.code, r.message, r.esc)
		r.esc = ""
	} else {
		r.message = "Hello " + string(arg)
	}
	if !s.offline {
		name := lua.LString(arg)
		if helo {
			s.callHook("EHLO", &r, name, lua.LTrue)
		} else {
			s.callHook("EHLO", &r, name)
		}
	}
	if r.code == "250" {
		s.resetTransaction()
		s.hasEhlo = true
		if s.ehloAs != string(arg) {
			s.ehloAs = string(arg)
		}
		if !helo {
			s.esmtp = true
			r.message = s.appendExtensions(r.message)
		}
	} else if len(arg) == 0 {
		s.countError()
	}
	s.sendPlain(r)
}

// extOrder is the advertisement order of the well-known extensions; the
// rest follow sorted (slimta.md 6.1 item 11: deterministic order).
var extOrder = []string{"8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "STARTTLS", "SIZE", "AUTH"}

// ExtensionLines returns the EHLO lines for the keyword table t.
func ExtensionLines(t *lua.LTable) []string {
	if t == nil {
		return nil
	}
	var lines []string
	seen := map[string]bool{}
	add := func(k string, v lua.LValue) {
		if v == lua.LNil || v == lua.LFalse {
			return
		}
		seen[k] = true
		if v == lua.LTrue {
			lines = append(lines, k)
			return
		}
		if p := valueString(v); p == "" {
			lines = append(lines, k)
		} else {
			lines = append(lines, k+" "+p)
		}
	}
	for _, k := range extOrder {
		add(k, t.RawGetString(k))
	}
	var rest []string
	t.ForEach(func(k, v lua.LValue) {
		if ks, ok := k.(lua.LString); ok && !seen[string(ks)] {
			rest = append(rest, string(ks))
		}
	})
	sort.Strings(rest)
	for _, k := range rest {
		add(k, t.RawGetString(k))
	}
	return lines
}

func (s *session) appendExtensions(msg string) string {
	if s.offline {
		s.extSnapOK = false // one use: the snapshot predates this EHLO
		if s.extSnap == "" {
			return msg
		}
		return msg + "\r\n" + s.extSnap
	}
	lines := ExtensionLines(s.extTable())
	if len(lines) == 0 {
		return msg
	}
	return msg + "\r\n" + strings.Join(lines, "\r\n")
}

func (s *session) mail(arg []byte) {
	p, ok := ParsePathArg(arg, "FROM:")
	r := reply{"250", "", "2.1.0"}
	failed := true
	switch {
	case !ok:
		r = replyArgs
	case !s.hasEhlo:
		r = replySequence
	case s.haveMail:
		r = replySequence
	case p.BadSize:
		r = replyArgs
	default:
		failed = false
		r.message = "Sender <" + string(p.Addr) + "> Ok"
		if p.Size >= 0 {
			if lim, adv := s.sizeLimit(); !adv {
				r = replyNotImpl
				failed = true
			} else if lim >= 0 && p.Size > lim {
				r = reply{"552", "Message size exceeds " + strconv.FormatInt(lim, 10) + " limit", "5.3.4"}
			}
		}
	}
	if !s.offline {
		var addr lua.LValue = lua.LNil
		if ok {
			addr = lua.LString(p.Addr)
		}
		s.callHook("MAIL", &r, addr)
	}
	if r.code == "250" {
		s.haveMail = true
		s.rcpts = 0
		s.sender = lua.LNil
		if ok {
			s.sender = lua.LString(p.Addr)
		}
		clear(s.recipients)
		s.recipients = s.recipients[:0]
	} else if failed {
		s.countError()
	}
	s.send(r)
}

func (s *session) rcpt(arg []byte) {
	p, ok := ParsePathArg(arg, "TO:")
	r := reply{"250", "", "2.1.5"}
	failed := true
	switch {
	case !ok:
		r = replyArgs
	case !s.haveMail:
		r = replySequence
	case s.rcpts >= MaxRecipients:
		r = replyTooManyRcp
		failed = false
	default:
		failed = false
		r.message = "Recipient <" + string(p.Addr) + "> Ok"
	}
	if !s.offline {
		var addr lua.LValue = lua.LNil
		if ok {
			addr = lua.LString(p.Addr)
		}
		s.callHook("RCPT", &r, addr)
	}
	if r.code == "250" && s.haveMail {
		s.rcpts++
		var addr lua.LValue = lua.LNil
		if ok {
			addr = lua.LString(p.Addr)
		}
		s.recipients = append(s.recipients, addr)
	} else if failed {
		s.countError()
	}
	s.send(r)
}

func (s *session) dataCmd(arg []byte) {
	r := reply{"354", "Start mail input; end with <CRLF>.<CRLF>", ""}
	failed := true
	switch {
	case len(arg) > 0:
		r = replyArgs
	case !s.haveMail:
		r = reply{"503", "No valid sender given", "5.5.1"}
	case s.rcpts == 0:
		r = reply{"503", "No valid recipients given", "5.5.1"}
	default:
		failed = false
	}
	s.callHookIf(hDATA, &r)
	s.send(r)
	if r.code != "354" {
		if failed {
			s.countError()
		}
		return
	}
	if !s.offline && s.io.CanOffline() {
		s.readPending = true // read by the next stretch, without the baton
		return
	}
	if s.io.Flush(s.L) != nil {
		return
	}
	s.readData()
}

// readData reads the message after a 354 and answers it (HAVE_DATA runs
// online: offline, the stretch ends with pendData).
func (s *session) readData() {
	limit := DataHardLimit
	if lim, _ := s.sizeLimit(); lim >= 0 && lim < limit {
		limit = lim
	}
	d := &s.data
	d.Reset(limit)
	d.Discard = !s.hasHook(hHAVEDATA)
	if err := s.io.ReadData(s.L, d); err != nil {
		if err == errEOF {
			s.quit = true // end of stream inside the message: nothing to answer
			s.pend = pendEOF
		}
		d.release()
		return
	}
	if s.offline && s.snap[hHAVEDATA] {
		s.pend = pendData
		return
	}
	s.finishData()
}

// finishData answers the end of a message (running HAVE_DATA online).
func (s *session) finishData() {
	d := &s.data
	r := reply{"250", "Message Accepted for Delivery", "2.6.0"}
	if d.TooBig {
		r = reply{"552", "Message size exceeds fixed limit", "5.3.4"}
	}
	if !s.offline && !d.Discard {
		L := s.L
		var errV lua.LValue = lua.LNil
		var dataV lua.LValue = lua.LNil
		if d.TooBig {
			errV = kernel.NewError(L, kernel.Error{Description: "Message breached size limit.",
				Code: "MSGTOOBIG", Function: "ratchet.smtp.data.recv()"})
		} else {
			dataV = lua.LString(d.Data())
		}
		d.release()
		sender := s.sender
		if sender == nil {
			sender = lua.LNil
		}
		rcpts := L.CreateTable(len(s.recipients), 0)
		for _, a := range s.recipients {
			rcpts.Append(a)
		}
		s.callHook("HAVE_DATA", &r, dataV, errV, sender, rcpts)
	} else {
		d.release()
	}
	s.resetTransaction()
	s.send(r)
}

func (s *session) starttls(arg []byte) {
	if _, ok := s.hasExt("STARTTLS"); !ok || s.tlsCtx == lua.LNil || s.usingTLS {
		s.protoError(replySyntax)
		return
	}
	r := reply{"220", "Go ahead", "2.7.0"}
	failed := true
	switch {
	case len(arg) > 0:
		r = replyArgs
	case !s.hasEhlo:
		r = replySequence
	default:
		failed = false
	}
	s.callHook("STARTTLS", &r, s.extObj)
	s.send(r)
	_ = s.io.Flush(s.L)
	if r.code != "220" {
		if failed {
			s.countError()
		}
		return
	}
	s.io.DropInput()
	s.encrypt()
	s.hasEhlo = false
	s.resetTransaction()
	if t := s.extTable(); t != nil {
		t.RawSetString("STARTTLS", lua.LNil)
	}
}

// encrypt runs socket:encrypt(tls_context) and the server handshake.
func (s *session) encrypt() {
	L := s.L
	enc := callMethod1(L, s.io.sockVal, "encrypt", s.tlsCtx)
	if enc == lua.LNil {
		L.RaiseError("ratchet.smtp.server: socket:encrypt() returned no session")
	}
	callMethod1(L, enc, "server_handshake")
	s.usingTLS = true
	s.esmtp = false
	s.syncState()
}

func (s *session) custom(verb, arg []byte) {
	name := string(verb)
	var fn lua.LValue
	if !hookNames[name] && len(name) > 0 && isLetter(name[0]) {
		fn = s.hook(name)
	}
	if fn == nil {
		s.protoError(replySyntax)
		return
	}
	if name == "AUTH" {
		// RFC 4954: only when advertised, after EHLO, outside a transaction.
		if _, adv := s.hasExt("AUTH"); !adv {
			s.protoError(replySyntax)
			return
		}
		if !s.hasEhlo || s.haveMail {
			s.protoError(replySequence)
			return
		}
		if len(arg) == 0 {
			s.protoError(replyArgs)
			return
		}
	}
	s.syncState()
	L := s.L
	L.Push(fn)
	L.Push(s.handlers)
	L.Push(lua.LString(arg))
	L.Push(s.self)
	L.Call(3, 1)
	ret := L.Get(-1)
	L.Pop(1)
	t, ok := ret.(*lua.LTable)
	if !ok {
		return // nil: the hook answered (or chose not to)
	}
	r := reply{"250", "", ""}
	readReply(t, &r)
	if r.esc != "" {
		s.send(r)
	} else {
		s.sendPlain(r)
	}
}

// errorCode returns the code field of a ratchet error value.
func errorCode(v lua.LValue) string {
	if t, ok := v.(*lua.LTable); ok {
		if c, ok := t.RawGetString("code").(lua.LString); ok {
			return string(c)
		}
	}
	return ""
}

// trySend sends r in protected mode (the connection may be gone).
func (s *session) trySend(r reply) {
	L := s.L
	L.Push(L.NewFunction(func(L *lua.LState) int {
		s.io.SendReply(r.code, ApplyESC(r.code, r.message, r.esc))
		_ = s.io.Flush(L)
		return 0
	}))
	_ = pcallfix.PCall(L, 0, 0)
}

// closeServer calls the CLOSE hook once and closes the I/O.
func closeServer(L *lua.LState, self *lua.LTable, io *IO) {
	if io.closed {
		return
	}
	h := self.RawGetString("handlers")
	if h != lua.LNil {
		if fn := L.GetField(h, "CLOSE"); fn != lua.LNil {
			L.Push(fn)
			L.Push(h)
			L.Call(1, 0)
		}
	}
	io.Close(L)
}

func serverHandle(L *lua.LState) int {
	self := L.CheckTable(1)
	s := newSession(L, self)
	L.Push(L.NewFunction(s.run))
	err := pcallfix.PCall(L, 0, 0)
	s.syncState()
	var reraise lua.LValue
	if err != nil {
		ev := pcallfix.ErrorValue(err)
		switch errorCode(ev) {
		case "ETIMEDOUT":
			s.trySend(replyTimeout)
		case "ECONNCLOSED", "SSLERROR", "SSLEOF", "EPIPE", "ECONNRESET":
		case "LINETOOLONG":
			s.trySend(replyTooLong)
		default:
			s.trySend(replyUnhandled)
			reraise = ev
		}
	}
	if s.hook("CLOSE") == nil && s.io.raw != nil && !s.io.raw.Encrypted() {
		s.io.Close(L) // nothing here can raise: no protected call needed
	} else {
		L.Push(L.NewFunction(func(L *lua.LState) int {
			closeServer(L, self, s.io)
			return 0
		}))
		_ = pcallfix.PCall(L, 0, 0)
	}
	if reraise != nil {
		L.Error(reraise, 0)
	}
	return 0
}

func serverClose(L *lua.LState) int {
	self := L.CheckTable(1)
	io := checkIOValue(L, self.RawGetString("io"))
	closeServer(L, self, io)
	return 0
}
