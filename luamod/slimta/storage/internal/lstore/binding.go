package lstore

import (
	"context"
	"errors"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
)

// ErrNotFound is the storage API's message for unknown ids (spec 2.22).
var ErrNotFound = errors.New("Message ID not found.")

// Backend is a storage engine seen from Go: the session interface of spec
// 2.21 plus the extensions slimta.queue uses (StoreMessage, RefreshLock,
// RetryTime). Write methods return only once the write is done (durable,
// for engines that promise it).
type Backend interface {
	Claim(ctx context.Context) (string, error)
	StoreMessage(ctx context.Context, meta Meta, contents string, when *float64, replaces string) (string, error)
	SetMeta(ctx context.Context, id string, meta Meta) error
	SetMetaKey(ctx context.Context, id, key string, v Value) error
	GetMeta(ctx context.Context, id string) (Meta, error)
	GetMetaKey(ctx context.Context, id, key string) (Value, error)
	SetContents(ctx context.Context, id, raw string) error
	GetContents(ctx context.Context, id string) (string, error)
	SetRetry(ctx context.Context, id string, when float64) (bool, error)
	RetryTime(ctx context.Context, id string) (float64, bool, error)
	Deferred(ctx context.Context, when *float64) ([]string, error)
	All(ctx context.Context) ([]string, error)
	Active(ctx context.Context) ([]string, error)
	Lock(ctx context.Context, id string, d time.Duration) (bool, string, error)
	RefreshLock(ctx context.Context, id string, d time.Duration) (bool, error)
	Unlock(ctx context.Context, id string) error
	Delete(ctx context.Context, id string) (bool, error)
}

// Handle is the Go value behind an engine or session userdata.
type Handle struct {
	Backend Backend
	// Session handles come from connect(); closing one only marks it.
	Session bool
	closed  bool
	// Shutdown releases the engine's resources (engine handles only).
	Shutdown func() error
	// Value is engine-specific data for Extra methods.
	Value any
	// Inline: reads and lock calls of this backend never wait for I/O
	// (memory-mapped reads, in-memory locks), so they run without releasing
	// the baton: a kernel.Block hand-off costs more than the call itself.
	Inline bool
	// AsyncDelete: delete_message queues the removal instead of waiting
	// until it is durable (backends implementing AsyncDeleter only).
	AsyncDelete bool
}

// AsyncDeleter is a backend whose deletes can be queued: DeleteAsync
// returns at once (without blocking on I/O) and hides the id from every
// later read; a crash before the write is durable brings the message back,
// so it is delivered again (at-least-once).
type AsyncDeleter interface {
	DeleteAsync(id string) (bool, error)
}

// run calls fn directly for an Inline handle, else through Do.
func run(L *lua.LState, h *Handle, fn func(ctx context.Context)) {
	if h.Inline {
		fn(context.Background())
		return
	}
	Do(L, fn)
}

// Binding builds the Lua class of one engine kind.
type Binding struct {
	Class string // registry name and __metatable of the userdata
	// Connect makes a session from an engine handle; nil: connect()
	// returns the engine itself (the memory engine's behaviour).
	Connect func(L *lua.LState, h *Handle) *Handle
	Extra   map[string]lua.LGFunction
}

// Meta returns the class metatable, creating it on first use.
func (b *Binding) Meta(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(b.Class).(*lua.LTable); ok {
		return mt
	}
	methods := map[string]lua.LGFunction{
		"connect":               b.connect,
		"close":                 b.close,
		"shutdown":              b.shutdown,
		"claim_message_id":      b.claimMessageID,
		"store_message":         b.storeMessage,
		"set_message_meta":      b.setMessageMeta,
		"set_message_meta_key":  b.setMessageMetaKey,
		"get_message_meta":      b.getMessageMeta,
		"get_message_meta_key":  b.getMessageMetaKey,
		"set_message_contents":  b.setMessageContents,
		"get_message_contents":  b.getMessageContents,
		"set_message_retry":     b.setMessageRetry,
		"get_message_retry":     b.getMessageRetry,
		"get_deferred_messages": b.getDeferredMessages,
		"get_all_messages":      b.getAllMessages,
		"get_active_messages":   b.getActiveMessages,
		"lock_message":          b.lockMessage,
		"refresh_lock":          b.refreshLock,
		"unlock_message":        b.unlockMessage,
		"delete_message":        b.deleteMessage,
	}
	for k, f := range b.Extra {
		methods[k] = f
	}
	return Class(L, b.Class, methods)
}

// Push wraps h in a userdata of this class.
func (b *Binding) Push(L *lua.LState, h *Handle) {
	L.Push(New(L, h, b.Meta(L)))
}

// Handle returns argument 1 as an open handle of this class, or raises.
func (b *Binding) Handle(L *lua.LState, fname string) *Handle {
	h := Check[*Handle](L, 1, b.Class, fname)
	if h.closed || h.Backend == nil {
		L.RaiseError("%s:%s(): session is closed", b.Class, fname)
	}
	return h
}

func (b *Binding) backend(L *lua.LState, fname string) Backend {
	return b.Handle(L, fname).Backend
}

// raise reports a failed write: it must reach the caller as an error (the
// queue turns it into a 4xx), never pass for success.
func (b *Binding) raise(L *lua.LState, fname string, err error) {
	L.RaiseError("%s:%s(): %s", b.Class, fname, err.Error())
}

func checkID(L *lua.LState, n int, fname string) string {
	id := luaarg.CheckString(L, n, fname)
	if id == "" {
		luaarg.ArgError(L, n, fname, "message id expected")
	}
	return id
}

func optTime(L *lua.LState, n int, fname string) *float64 {
	if L.Get(n) == lua.LNil {
		return nil
	}
	f := luaarg.CheckNumber(L, n, fname)
	return &f
}

func checkDuration(L *lua.LState, n int, fname string) time.Duration {
	secs := luaarg.CheckNumber(L, n, fname)
	if !(secs > 0 && secs <= 1e9) {
		luaarg.ArgError(L, n, fname, "positive number of seconds expected")
	}
	return time.Duration(secs * float64(time.Second))
}

func checkMeta(L *lua.LState, n int, fname string) Meta {
	m, err := MetaFromLua(luaarg.CheckTable(L, n, fname))
	if err != nil {
		luaarg.ArgError(L, n, fname, err.Error())
	}
	return m
}

func (b *Binding) connect(L *lua.LState) int {
	h := b.Handle(L, "connect")
	if b.Connect == nil || h.Session {
		L.Push(L.Get(1))
		return 1
	}
	b.Push(L, b.Connect(L, h))
	return 1
}

// close ends a session; on an engine (used as its own session) it does
// nothing, as with slimta.storage.memory.
func (b *Binding) close(L *lua.LState) int {
	h := Check[*Handle](L, 1, b.Class, "close")
	if h.Session {
		h.closed = true
	}
	return 0
}

// shutdown releases the engine (files, connection pools).
func (b *Binding) shutdown(L *lua.LState) int {
	h := Check[*Handle](L, 1, b.Class, "shutdown")
	if h.Session || h.closed || h.Shutdown == nil {
		return 0
	}
	h.closed = true
	var err error
	Do(L, func(context.Context) { err = h.Shutdown() })
	if err != nil {
		b.raise(L, "shutdown", err)
	}
	return 0
}

func (b *Binding) claimMessageID(L *lua.LState) int {
	be := b.backend(L, "claim_message_id")
	var id string
	var err error
	Do(L, func(ctx context.Context) { id, err = be.Claim(ctx) })
	if err != nil {
		return Fail(L, err.Error())
	}
	L.Push(lua.LString(id))
	return 1
}

// store_message(meta, contents [, retry_when] [, replaces]) -> id: the
// whole message in one atomic write (extension of spec 2.21).
func (b *Binding) storeMessage(L *lua.LState) int {
	const fn = "store_message"
	be := b.backend(L, fn)
	meta := checkMeta(L, 2, fn)
	contents := luaarg.CheckString(L, 3, fn)
	when := optTime(L, 4, fn)
	replaces := luaarg.OptString(L, 5, fn, "")
	var id string
	var err error
	Do(L, func(ctx context.Context) { id, err = be.StoreMessage(ctx, meta, contents, when, replaces) })
	if err != nil {
		b.raise(L, fn, err)
	}
	L.Push(lua.LString(id))
	return 1
}

func (b *Binding) setMessageMeta(L *lua.LState) int {
	const fn = "set_message_meta"
	be := b.backend(L, fn)
	id := checkID(L, 2, fn)
	meta := checkMeta(L, 3, fn)
	var err error
	Do(L, func(ctx context.Context) { err = be.SetMeta(ctx, id, meta) })
	if err != nil {
		b.raise(L, fn, err)
	}
	return 0
}

func (b *Binding) setMessageMetaKey(L *lua.LState) int {
	const fn = "set_message_meta_key"
	be := b.backend(L, fn)
	id := checkID(L, 2, fn)
	key := luaarg.CheckString(L, 3, fn)
	var v Value
	if lv := L.Get(4); lv != lua.LNil && lv != lua.LFalse {
		var ok bool
		if v, ok = ValueFromLua(lv); !ok {
			luaarg.ArgError(L, 4, fn, "string, number or boolean expected, got "+lv.Type().String())
		}
	}
	var err error
	Do(L, func(ctx context.Context) { err = be.SetMetaKey(ctx, id, key, v) })
	if err != nil {
		b.raise(L, fn, err)
	}
	return 0
}

func (b *Binding) getMessageMeta(L *lua.LState) int {
	const fn = "get_message_meta"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	var m Meta
	var err error
	run(L, h, func(ctx context.Context) { m, err = be.GetMeta(ctx, id) })
	if err != nil {
		return Fail(L, err.Error())
	}
	L.Push(MetaToLua(L, m))
	return 1
}

func (b *Binding) getMessageMetaKey(L *lua.LState) int {
	const fn = "get_message_meta_key"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	key := luaarg.CheckString(L, 3, fn)
	var v Value
	var err error
	run(L, h, func(ctx context.Context) { v, err = be.GetMetaKey(ctx, id, key) })
	if err != nil {
		return Fail(L, err.Error())
	}
	L.Push(ValueToLua(v))
	return 1
}

func (b *Binding) setMessageContents(L *lua.LState) int {
	const fn = "set_message_contents"
	be := b.backend(L, fn)
	id := checkID(L, 2, fn)
	raw := luaarg.CheckString(L, 3, fn)
	var err error
	Do(L, func(ctx context.Context) { err = be.SetContents(ctx, id, raw) })
	if err != nil {
		b.raise(L, fn, err)
	}
	return 0
}

func (b *Binding) getMessageContents(L *lua.LState) int {
	const fn = "get_message_contents"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	var raw string
	var err error
	run(L, h, func(ctx context.Context) { raw, err = be.GetContents(ctx, id) })
	if err != nil {
		return Fail(L, err.Error())
	}
	L.Push(lua.LString(raw))
	return 1
}

// set_message_retry(id, when) -> true, or false for an id not stored.
func (b *Binding) setMessageRetry(L *lua.LState) int {
	const fn = "set_message_retry"
	be := b.backend(L, fn)
	id := checkID(L, 2, fn)
	when := luaarg.CheckNumber(L, 3, fn)
	var found bool
	var err error
	Do(L, func(ctx context.Context) { found, err = be.SetRetry(ctx, id, when) })
	if err != nil {
		b.raise(L, fn, err)
	}
	L.Push(lua.LBool(found))
	return 1
}

// get_message_retry(id) -> scheduled time or nil (extension).
func (b *Binding) getMessageRetry(L *lua.LState) int {
	const fn = "get_message_retry"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	var when float64
	var ok bool
	var err error
	run(L, h, func(ctx context.Context) { when, ok, err = be.RetryTime(ctx, id) })
	if err != nil {
		return Fail(L, err.Error())
	}
	if !ok {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LNumber(when))
	}
	return 1
}

func (b *Binding) list(L *lua.LState, fn string, get func(ctx context.Context, be Backend) ([]string, error)) int {
	h := b.Handle(L, fn)
	be := h.Backend
	var ids []string
	var err error
	run(L, h, func(ctx context.Context) { ids, err = get(ctx, be) })
	if err != nil {
		return Fail(L, err.Error())
	}
	PushStrings(L, ids)
	return 1
}

func (b *Binding) getDeferredMessages(L *lua.LState) int {
	when := optTime(L, 2, "get_deferred_messages")
	return b.list(L, "get_deferred_messages", func(ctx context.Context, be Backend) ([]string, error) {
		return be.Deferred(ctx, when)
	})
}

func (b *Binding) getAllMessages(L *lua.LState) int {
	return b.list(L, "get_all_messages", func(ctx context.Context, be Backend) ([]string, error) {
		return be.All(ctx)
	})
}

func (b *Binding) getActiveMessages(L *lua.LState) int {
	return b.list(L, "get_active_messages", func(ctx context.Context, be Backend) ([]string, error) {
		return be.Active(ctx)
	})
}

// lock_message(id, seconds) -> true | false, reason. Storage failures
// also give false (with the error text): an unlockable message is simply
// not relayed now and stays scheduled.
func (b *Binding) lockMessage(L *lua.LState) int {
	const fn = "lock_message"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	d := checkDuration(L, 3, fn)
	var ok bool
	var reason string
	var err error
	run(L, h, func(ctx context.Context) { ok, reason, err = be.Lock(ctx, id, d) })
	if err != nil {
		reason = err.Error()
	}
	L.Push(lua.LBool(ok))
	if ok {
		return 1
	}
	L.Push(lua.LString(reason))
	return 2
}

// refresh_lock(id, seconds) -> bool: extends a lock that is still held
// and pushes the retry time along (extension).
func (b *Binding) refreshLock(L *lua.LState) int {
	const fn = "refresh_lock"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	d := checkDuration(L, 3, fn)
	var ok bool
	var err error
	run(L, h, func(ctx context.Context) { ok, err = be.RefreshLock(ctx, id, d) })
	if err != nil {
		return Fail(L, err.Error())
	}
	L.Push(lua.LBool(ok))
	return 1
}

func (b *Binding) unlockMessage(L *lua.LState) int {
	const fn = "unlock_message"
	h := b.Handle(L, fn)
	be := h.Backend
	id := checkID(L, 2, fn)
	var err error
	run(L, h, func(ctx context.Context) { err = be.Unlock(ctx, id) })
	if err != nil {
		b.raise(L, fn, err)
	}
	return 0
}

// delete_message(id) -> true if the id was stored.
func (b *Binding) deleteMessage(L *lua.LState) int {
	const fn = "delete_message"
	h := b.Handle(L, fn)
	id := checkID(L, 2, fn)
	var existed bool
	var err error
	if ad, ok := h.Backend.(AsyncDeleter); ok && h.AsyncDelete {
		existed, err = ad.DeleteAsync(id)
	} else {
		Do(L, func(ctx context.Context) { existed, err = h.Backend.Delete(ctx, id) })
	}
	if err != nil {
		b.raise(L, fn, err)
	}
	L.Push(lua.LBool(existed))
	return 1
}
