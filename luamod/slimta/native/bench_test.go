package native_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// benchMessage is a typical 650-byte message: a folded Received header,
// the usual originator fields, MIME headers and a short body.
const benchMessage = "Received: from client.example.net (unknown [192.0.2.10]) by mx.example.org\r\n" +
	" (slimta 0.0) with ESMTP for <bob@example.org>; Fri, 13 Feb 2009 23:31:30 +0000\r\n" +
	"From: Alice Example <alice@example.net>\r\n" +
	"To: Bob Example <bob@example.org>\r\n" +
	"Subject: Quarterly report and the numbers we talked about\r\n" +
	"Date: Fri, 13 Feb 2009 23:31:30 +0000\r\n" +
	"Message-ID: <0b5e1c8e-2d49-4b3f-9a83-0c6a8d3f3e11.1234567890@example.net>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=us-ascii\r\n" +
	"Content-Transfer-Encoding: 7bit\r\n" +
	"\r\n" +
	"Hi Bob,\r\n\r\n" +
	"here are the numbers for the last quarter. Revenue up, costs are flat\r\n" +
	"and the new office is on schedule. Anything?\r\n\r\n" +
	"Thanks,\r\nAlice\r\n"

// benchLua runs fn(b.N) once under the timer, as two sub-benchmarks:
// "lua" with the pure Lua implementations (slimta.message.native
// unavailable, as before the native helpers existed) and "native".
func benchLua(b *testing.B, setup, fn string) {
	for _, native := range []bool{false, true} {
		name := "lua"
		if native {
			name = "native"
		}
		b.Run(name, func(b *testing.B) { benchLuaOnce(b, native, setup, fn) })
	}
}

func benchLuaOnce(b *testing.B, native bool, setup, fn string) {
	L := newState(b, true)
	if !native {
		require.NoError(b, L.DoString(`package.preload["slimta.message.native"] = nil`))
	}
	L.SetGlobal("DATA", lua.LString(benchMessage))
	require.NoError(b, L.DoString(`
		require "slimta.message"
		require "slimta.xml.writer"
		require "slimta.xml.reader"
		client = slimta.message.client.new("ESMTP", "client.example.net", "192.0.2.10", "none", "mx.example.org")
		envelope = slimta.message.envelope.new("alice@example.net", {"bob@example.org"})
	`+setup))
	f := L.GetGlobal(fn)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMessage)))
	b.ResetTimer()
	require.NoError(b, L.CallByParam(lua.P{Fn: f, NRet: 0, Protect: true}, lua.LNumber(b.N)))
}

// go test -run - -bench 'Contents|MessageXML' ./luamod/slimta/native/
func BenchmarkContentsNew(b *testing.B) {
	require.Len(b, benchMessage, 650)
	benchLua(b, `
		function run(n)
			local new = slimta.message.contents.new
			for i = 1, n do new(DATA) end
		end`, "run")
}

func BenchmarkContentsToString(b *testing.B) {
	benchLua(b, `
		function run(n)
			local c = slimta.message.contents.new(DATA)
			c:add_header("X-Added", "yes")
			for i = 1, n do tostring(c) end
		end`, "run")
}

// BenchmarkContentsEdge is what the SMTP edge does per message: parse,
// look up From, serialise once (store or bus).
func BenchmarkContentsEdge(b *testing.B) {
	benchLua(b, `
		function run(n)
			local new = slimta.message.contents.new
			for i = 1, n do
				local c = new(DATA)
				if not c.headers.from[1] then c:add_header("From", "x") end
				tostring(c)
			end
		end`, "run")
}

func BenchmarkMessageToXML(b *testing.B) {
	benchLua(b, `
		function run(n)
			local m = slimta.message.new(client, envelope, slimta.message.contents.new(DATA), 1234567890, "id", 1)
			for i = 1, n do
				local w = slimta.xml.writer.new()
				w:add_item(m)
				w:build({"requests"})
			end
		end`, "run")
}

func BenchmarkMessageFromXML(b *testing.B) {
	benchLua(b, `
		local m = slimta.message.new(client, envelope, slimta.message.contents.new(DATA), 1234567890, "id", 1)
		local w = slimta.xml.writer.new()
		w:add_item(m)
		XML, ATT = w:build({"requests"})
		function run(n)
			local reader = slimta.xml.reader
			local from_xml = slimta.message.from_xml
			for i = 1, n do
				local root = reader.new():parse_xml(XML)
				from_xml(root[1][1], ATT)
			end
		end`, "run")
}

// BenchmarkMessageBuilder is the SMTP edge's per-message construction:
// the native builder against the Lua constructors it stands for.
func BenchmarkMessageBuilder(b *testing.B) {
	benchLua(b, `
		local m = slimta.message
		local ok, native = pcall(require, "slimta.message.native")
		if ok and type(native) == "table" then
			build = native.message_builder(m.contents.new, m.client, m.envelope, getmetatable(m.new()))
		else
			build = function (data, sender, rcpts, p, e, ip, sec, recv, auth, ts)
				local c = m.contents.new(data)
				if sender ~= "" and not c.headers.from[1] then c:add_header("From", sender) end
				return m.new(m.client.new(p, e, ip, sec, recv, auth), m.envelope.new(sender, rcpts), c, ts)
			end
		end
		function run(n)
			for i = 1, n do
				build(DATA, "alice@example.net", {"bob@example.org"}, "ESMTP", "client.example.net",
				      "192.0.2.10", "none", "mx.example.org", nil, 1234567890)
			end
		end`, "run")
}
