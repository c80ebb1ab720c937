package native

import (
	"github.com/slimta-lua/slimta-lua/internal/ltable"
	lua "github.com/yuin/gopher-lua"
)

// The receiving edges build one message per accepted transaction out of
// five Lua objects (client, envelope, contents, message and the From
// header check). Done in Lua that costs about as much CPU as the whole
// SMTP exchange of a small message; messageBuilderFactory does the same
// construction in one Go call.

// contentsFactoriesKey is the registry slot mapping the contents.new
// functions made by contentsNewFactory to their factory, so a builder can
// parse contents without calling back into Lua.
const contentsFactoriesKey = "slimta.message.native.contents_factories"

type contentsFactories map[*lua.LFunction]*contentsFactory

func factoriesOf(L *lua.LState) contentsFactories {
	if ud, ok := L.G.Registry.RawGetString(contentsFactoriesKey).(*lua.LUserData); ok {
		if m, ok := ud.Value.(contentsFactories); ok {
			return m
		}
	}
	m := contentsFactories{}
	ud := L.NewUserData()
	ud.Value = m
	L.G.Registry.RawSetString(contentsFactoriesKey, ud)
	return m
}

// messageBuilderFactory(contents_new, client_class, envelope_class,
// message_mt) returns build(data, sender, recipients, protocol, ehlo, ip,
// security, receiver, auth_info, timestamp), or nil when contents_new is
// not a native contents.new (the caller then keeps its Lua code). build
// returns what the Lua edge code builds:
//
//	message.new(client.new(protocol, ehlo, ip, security, receiver, auth_info),
//	            envelope.new(sender, recipients), contents.new(data), timestamp)
//
// with "From: sender" prepended when the sender is a non-empty string and
// the contents have no From field (spec 6.1 #10: a null sender adds none).
func messageBuilderFactory(L *lua.LState) int {
	fn := L.CheckFunction(1)
	clientMT := L.CheckTable(2)
	envelopeMT := L.CheckTable(3)
	messageMT := L.CheckTable(4)
	f := factoriesOf(L)[fn]
	if f == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(L.NewFunction(func(L *lua.LState) int {
		data := L.CheckString(1)
		sender := L.Get(2)
		rcpts, ok := L.Get(3).(*lua.LTable)
		if !ok {
			rcpts = L.CreateTable(0, 0)
		}
		contents := f.newContents(L, data)
		if s, ok := sender.(lua.LString); ok && s != "" {
			prependFrom(L, contents, s)
		}

		client := L.CreateTable(0, 0)
		var cv [6]lua.LValue
		for i := range cv {
			cv[i] = L.Get(4 + i)
		}
		ltable.Fill(client, clientKeys, cv[:])
		client.Metatable = clientMT

		envelope := L.CreateTable(0, 0)
		ltable.Fill(envelope, envelopeKeys, []lua.LValue{sender, rcpts})
		envelope.Metatable = envelopeMT

		msg := L.CreateTable(0, 0)
		ltable.Fill(msg, messageKeys, []lua.LValue{client, envelope, contents, L.Get(10), lua.LNumber(0)})
		msg.Metatable = messageMT
		L.Push(msg)
		return 1
	}))
	return 1
}

var (
	clientKeys   = ltable.Keys("protocol", "ehlo", "ip", "security", "receiver", "auth_info")
	envelopeKeys = ltable.Keys("sender", "recipients")
	messageKeys  = ltable.Keys("client", "envelope", "contents", "timestamp", "attempts")
)

// prependFrom adds "From: sender" in front of the header block when there
// is no From field yet: contents:add_header("From", sender) of
// contents.lua, for a contents table newContents just built.
func prependFrom(L *lua.LState, contents *lua.LTable, sender lua.LString) {
	headers, ok := contents.RawGetString("headers").(*lua.LTable)
	if !ok {
		return
	}
	vals, _ := headers.RawGetString("from").(*lua.LTable)
	if vals != nil && vals.RawGetInt(1) != lua.LNil {
		return
	}
	if vals == nil {
		vals = L.CreateTable(1, 0)
		headers.RawSetString("from", vals)
	}
	if raws, ok := contents.RawGetString("_raw").(*lua.LTable); ok {
		if rl, ok := raws.RawGetString("from").(*lua.LTable); ok {
			rl.Insert(1, lua.LFalse)
		}
	}
	vals.Insert(1, sender)
	if stack, ok := contents.RawGetString("header_stack").(*lua.LTable); ok {
		stack.Insert(1, lua.LString("From"))
	}
}

var responseKeys = ltable.Keys("code", "message", "data")

// responseNewFactory(class) returns a Go response.new(code, message,
// data): {code = code or "", message = message or "", data = data} with
// the class as metatable. Every delivered or queued message gets one.
func responseNewFactory(L *lua.LState) int {
	class := L.CheckTable(1)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		code, message := L.Get(1), L.Get(2)
		if !lua.LVAsBool(code) {
			code = lua.LString("")
		}
		if !lua.LVAsBool(message) {
			message = lua.LString("")
		}
		t := L.CreateTable(0, 0)
		ltable.Fill(t, responseKeys, []lua.LValue{code, message, L.Get(3)})
		t.Metatable = class
		L.Push(t)
		return 1
	}))
	return 1
}
