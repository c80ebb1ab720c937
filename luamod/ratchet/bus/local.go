package bus

import (
	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
)

// Registry keys of the cached metatables.
const (
	busMetaKey = "ratchet.bus.local.meta"
	txMetaKey  = "ratchet.bus.local.transaction.meta"
)

// Bus is a local bus. Its queues are plain Go values without locks: every
// ratchet thread runs on its own goroutine, but only the one holding the
// kernel's baton runs Lua, and the bus is only touched from Lua calls.
type Bus struct {
	queue   ring[*lua.LUserData] // transactions nobody received yet
	waiting ring[*kernel.Thread] // receivers parked in recv_request
	txMeta  *lua.LTable          // cached so send_request skips the registry
}

// Transaction is one request on a local bus. The response may be any
// value, false and nil included, hence the separate responded flag.
type Transaction struct {
	request   lua.LValue
	response  lua.LValue
	responded lua.LValue // stays a Lua value: Lua code may assign it
	// Threads parked in recv_response. Almost always one, kept out of a
	// slice so the usual round trip allocates nothing for it.
	waiter *kernel.Thread
	more   []*kernel.Thread
	// extra holds fields Lua code stores on the transaction, which the
	// original Lua table allowed; created on the first such store.
	extra *lua.LTable
}

// Open builds the native module: new() makes a bus, new_transaction(req)
// a transaction on no bus (ratchet.bus.samestate_transaction.new).
func Open(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("new", L.NewFunction(busNew))
	t.RawSetString("new_transaction", L.NewFunction(txNewFn))
	return t
}

func busMeta(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, busMetaKey, busMethods)
}

var busMethods = map[string]lua.LGFunction{
	"send_request": busSendRequest,
	"recv_request": busRecvRequest,
}

// txMeta uses __index/__newindex functions rather than a method table
// because request, response and responded live in the Go struct.
func txMeta(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(txMetaKey).(*lua.LTable); ok {
		return mt
	}
	sendFn := L.NewFunction(txSendResponse)
	recvFn := L.NewFunction(txRecvResponse)
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		tx := checkTx(L, "ratchet.bus transaction __index")
		key := L.Get(2)
		if s, ok := key.(lua.LString); ok {
			switch s {
			case "request":
				L.Push(tx.request)
				return 1
			case "response":
				L.Push(tx.response)
				return 1
			case "responded":
				L.Push(tx.responded)
				return 1
			}
		}
		if tx.extra != nil {
			if v := tx.extra.RawGet(key); v != lua.LNil {
				L.Push(v)
				return 1
			}
		}
		if s, ok := key.(lua.LString); ok {
			switch s {
			case "send_response":
				L.Push(sendFn)
				return 1
			case "recv_response":
				L.Push(recvFn)
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		tx := checkTx(L, "ratchet.bus transaction __newindex")
		key, val := L.Get(2), L.Get(3)
		if s, ok := key.(lua.LString); ok {
			switch s {
			case "request":
				tx.request = val
				return 0
			case "response":
				tx.response = val
				return 0
			case "responded":
				tx.responded = val
				return 0
			}
		}
		// The errors a Lua table gives for keys it cannot hold.
		if key == lua.LNil {
			L.RaiseError("table index is nil")
		}
		if n, ok := key.(lua.LNumber); ok && n != n {
			L.RaiseError("table index is NaN")
		}
		if tx.extra == nil {
			tx.extra = L.NewTable()
		}
		tx.extra.RawSet(key, val)
		return 0
	}))
	L.G.Registry.RawSetString(txMetaKey, mt)
	return mt
}

func busNew(L *lua.LState) int {
	ud := L.NewUserData()
	ud.Value = &Bus{txMeta: txMeta(L)}
	ud.Metatable = busMeta(L)
	L.Push(ud)
	return 1
}

func newTx(L *lua.LState, mt *lua.LTable, request lua.LValue) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = &Transaction{request: request, response: lua.LNil, responded: lua.LFalse}
	ud.Metatable = mt
	return ud
}

func txNewFn(L *lua.LState) int {
	L.Push(newTx(L, txMeta(L), L.Get(1)))
	return 1
}

func checkBus(L *lua.LState, fname string) *Bus {
	return luaarg.CheckUserData[*Bus](L, 1, fname, "ratchet.bus local bus")
}

func checkTx(L *lua.LState, fname string) *Transaction {
	return luaarg.CheckUserData[*Transaction](L, 1, fname, "ratchet.bus local transaction")
}

// busSendRequest queues a new transaction or hands it to the oldest parked
// receiver that can still be unpaused; it never blocks.
func busSendRequest(L *lua.LState) int {
	b := checkBus(L, "ratchet.bus.send_request")
	ud := newTx(L, b.txMeta, L.Get(2))
	for b.waiting.len() > 0 {
		// Receivers killed or ended since they parked refuse the unpause.
		if kernel.Unpause(b.waiting.pop(), []lua.LValue{ud}) {
			L.Push(ud)
			return 1
		}
	}
	b.queue.push(ud)
	L.Push(ud)
	return 1
}

// busRecvRequest returns the oldest queued transaction and its request, or
// parks the calling thread until send_request hands it one.
func busRecvRequest(L *lua.LState) int {
	b := checkBus(L, "ratchet.bus.recv_request")
	if b.queue.len() > 0 {
		ud := b.queue.pop()
		L.Push(ud)
		L.Push(ud.Value.(*Transaction).request)
		return 2
	}
	b.waiting.push(kernel.NeedThread(L, "ratchet.bus.recv_request()"))
	var v lua.LValue = lua.LNil
	if vals := kernel.Pause(L); len(vals) > 0 {
		v = vals[0]
	}
	if ud, ok := v.(*lua.LUserData); ok {
		if tx, ok := ud.Value.(*Transaction); ok {
			L.Push(ud)
			L.Push(tx.request)
			return 2
		}
	}
	// Woken by someone else's ratchet.thread.unpause: index what it passed,
	// as the Lua implementation did (raising if that is not indexable).
	L.Push(v)
	L.Push(L.GetField(v, "request"))
	return 2
}

// txSendResponse stores the response and wakes every thread parked in
// recv_response; it never blocks and may be called again.
func txSendResponse(L *lua.LState) int {
	tx := checkTx(L, "ratchet.bus.send_response")
	tx.response = L.Get(2)
	tx.responded = lua.LTrue
	w, more := tx.waiter, tx.more
	tx.waiter, tx.more = nil, nil
	if w != nil {
		kernel.Unpause(w, nil) // false: killed meanwhile, nothing to wake
	}
	for _, t := range more {
		kernel.Unpause(t, nil)
	}
	return 0
}

// txRecvResponse returns the response, parking once if none was sent yet.
func txRecvResponse(L *lua.LState) int {
	tx := checkTx(L, "ratchet.bus.recv_response")
	if !lua.LVAsBool(tx.responded) {
		t := kernel.NeedThread(L, "ratchet.bus.recv_response()")
		if tx.waiter == nil {
			tx.waiter = t
		} else {
			tx.more = append(tx.more, t)
		}
		kernel.Pause(L)
	}
	L.Push(tx.response)
	return 1
}
