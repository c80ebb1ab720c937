package native_test

import (
	"strings"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// The Go helpers of slimta.message.native must behave exactly like the
// Lua code they replace. These tests run the same operations in a state
// with the helpers and in one without (pure Lua, as before) and compare
// everything Lua code can observe.

const describeLua = `
require "slimta.message"
require "slimta.xml.reader"
require "slimta.xml.writer"

local function q(v)
    return string.format("%q", tostring(v))
end

local function dump_contents(c)
    local out = {}
    local function add(k, v) out[#out + 1] = k .. "=" .. q(v) end
    add("size", c.size)
    add("orig", c.orig_data)
    add("he", c.headers_end)
    add("cs", c.contents_start)
    add("stack", table.concat(c.header_stack, "|"))
    local keys = {}
    for k in pairs(c.headers) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
        local vals = {}
        for i, v in ipairs(c.headers[k]) do vals[i] = q(v) end
        add("h:" .. k, table.concat(vals, "|"))
    end
    add("str", tostring(c))
    add("raw_data", c.raw_data)
    return table.concat(out, "\n")
end

function describe(data, op)
    local ok, c = pcall(slimta.message.contents.new, data)
    if not ok then
        return "new failed"
    end
    local s = dump_contents(c)
    local ok, err = pcall(function ()
        if op % 2 == 1 then c:add_header("X-Added", "value " .. op) end
        if op % 4 >= 2 then
            c:add_header("Received", "from x by y; " .. string.rep("word ", op % 30), true)
        end
        if op % 8 >= 4 then c:delete_header(c.header_stack[1] or "none") end
        if op % 16 >= 8 and c.header_stack[1] then
            c.headers[c.header_stack[1]:lower()][1] = "changed\nline"
        end
        if op % 32 >= 16 then c = slimta.message.contents.copy(c) end
        if op % 64 >= 32 then c:add_header("Subject", "multi\r\nline\n\n\tvalue\n") end
        if op % 128 >= 64 and c.header_stack[2] then
            c.header_stack[2] = c.header_stack[2]:upper()
        end
    end)
    s = s .. "\n--ops--\n" .. tostring(ok)
    if ok then
        local ok2, str = pcall(dump_contents, c)
        s = s .. "\n" .. (ok2 and str or "serialize failed")
    else
        s = s .. " " .. tostring(err)
    end
    return s
end

local function dump_tree(root)
    local out = {}
    local function walk(n, depth)
        local keys = {}
        for k in pairs(n) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        out[#out + 1] = string.rep(" ", depth) .. q(n.name) .. " " .. q(n.data) .. " " .. table.concat(keys, ",")
        if n.attrs then
            local ak = {}
            for k, v in pairs(n.attrs) do ak[#ak + 1] = k .. "=" .. q(v) end
            table.sort(ak)
            out[#out + 1] = table.concat(ak, "&")
        end
        for _, c in ipairs(n) do walk(c, depth + 1) end
    end
    walk(root, 0)
    return table.concat(out, "\n")
end

function parse_tree(data)
    local ok, root = pcall(function () return slimta.xml.reader.new():parse_xml(data) end)
    if not ok then
        return "ERR " .. tostring(root)
    end
    return dump_tree(root)
end

function fold(name, value, max)
    return require("slimta.message.header_folding").fold(name, value, max)
end

function build(lines, containers)
    local w = slimta.xml.writer.new()
    w.lines = lines
    return (w:build(containers))
end

function escapes(s)
    return slimta.xml.writer.escape_text(s) .. "|" .. slimta.xml.writer.escape_attr(s)
end

function message_xml(data)
    local c = slimta.message.client.new("ESMTP", " ehlo x ", "1.2.3.4", "TLS", "r", data)
    local e = slimta.message.envelope.new(data, {data, "b"}, "SMTP", data, 25)
    local m = slimta.message.new(c, e, slimta.message.contents.new(data), 12345, data, 2)
    local w = slimta.xml.writer.new()
    w:add_item(m)
    local xml, att = w:build({"requests"})
    local ok, root = pcall(function () return slimta.xml.reader.new():parse_xml(xml) end)
    if not ok then
        return xml .. "\nERR " .. tostring(root)
    end
    local back = slimta.message.from_xml(root[1][1], att)
    return xml .. "\n" .. table.concat({tostring(back.id), tostring(back.client.ehlo),
        tostring(back.client.auth_info), tostring(back.envelope.sender),
        table.concat(back.envelope.recipients, "|"), tostring(back.envelope.dest_host),
        tostring(back.contents)}, "\n")
end
`

// pairStates returns a state with the native helpers and one without.
func pairStates(t testing.TB) (nat, pure *lua.LState) {
	nat = newState(t, true)
	pure = newState(t, true)
	require.NoError(t, pure.DoString(`package.preload["slimta.message.native"] = nil`))
	require.NoError(t, nat.DoString(describeLua))
	require.NoError(t, pure.DoString(describeLua))
	ok := nat.GetField(nat.GetField(nat.GetGlobal("package"), "loaded"), "slimta.message.native")
	require.NotEqual(t, lua.LNil, ok, "native module not loaded")
	require.Equal(t, lua.LNil, pure.GetField(pure.GetField(pure.GetGlobal("package"), "loaded"), "slimta.message.native"))
	return nat, pure
}

func callStr(t testing.TB, L *lua.LState, fn string, args ...lua.LValue) string {
	t.Helper()
	require.NoError(t, L.CallByParam(lua.P{Fn: L.GetGlobal(fn), NRet: 1, Protect: true}, args...))
	v := L.Get(-1)
	L.Pop(1)
	return lua.LVAsString(v)
}

// sameBothWays calls fn in both states and requires identical results.
func sameBothWays(t testing.TB, nat, pure *lua.LState, fn string, args ...lua.LValue) string {
	t.Helper()
	a := callStr(t, nat, fn, args...)
	b := callStr(t, pure, fn, args...)
	if a != b {
		t.Fatalf("%s(%q) differs\nnative:\n%s\nlua:\n%s", fn, args, a, b)
	}
	return a
}

var contentsCases = []string{
	"",
	"test contents",
	"From: test\r\nTo: test\r\nSubject: test test\r\n\r\nbeep beep\r\n",
	"From: a\nTo: b\n\nbody\n",
	"Subject: test test test test test test test test test test test test test test\r\n test test test test test\r\n\r\nbody",
	"Subject: a\r\n\tb\r\n c\r\n\r\nbody",
	"Received: from x\n by y\r\n\tfor z\r\n\r\n",
	"\r\nbody only",
	" \t\r\nbody after a blank line",
	"X_Under: v\r\nName:value\r\nName2:  two\r\nFrom foo@bar Mon\r\n\r\nb",
	"junk first\r\nFrom: x\r\n\r\nb",
	"From: x\r\nTo: y",
	"From: x\r\nTo: y\r\nnot a header\r\nmore",
	"From: x\r\nTo: y\r\n",
	"From: x\r\n \r\nTo: y\r\n\r\nbody",
	"A: 1\r\nB: 2\r\n   \r\nbody",
	"A: 1\rB: 2\r\n\r\nbody",
	"A: 1\r",
	"A:\r\nB: \r\n\r\n",
	": empty name\r\n\r\n",
	"Ümlaut: x\r\nA\x00B: y\r\n\r\n",
	"From: x\r\nFROM: y\r\nfrom: z\r\n\r\n",
	"Long: " + strings.Repeat("word ", 40) + "\r\n\r\n",
	"Long: " + strings.Repeat("x", 200) + "\r\n\r\n",
	"Subject: has\rcr inside\r\n\r\nbody",
	"A: b\r\n\r\n\r\n\r\n",
	"\n",
	"\r",
	"A: b\n\n",
	"A: b\r\n\t\r\n\r\n",
	"A: b\r\n\vc\r\n\r\n",
}

func TestContentsNativeMatchesLua(t *testing.T) {
	nat, pure := pairStates(t)
	for _, data := range contentsCases {
		for op := 0; op < 128; op += 7 {
			sameBothWays(t, nat, pure, "describe", lua.LString(data), lua.LNumber(op))
		}
	}
	// nil and non-string arguments behave as before
	sameBothWays(t, nat, pure, "describe", lua.LNil, lua.LNumber(3))
	sameBothWays(t, nat, pure, "describe", lua.LNumber(5), lua.LNumber(0))
	sameBothWays(t, nat, pure, "describe", lua.LFalse, lua.LNumber(0))
}

func TestContentsNativeExamples(t *testing.T) {
	nat, _ := pairStates(t)
	require.NoError(t, nat.DoString(`
		local c = slimta.message.contents.new("From: a\nSubject: b\n\nbody\n")
		c:add_header("X-Added", "value 1")
		OUT = tostring(c)
	`))
	assert.Equal(t, "X-Added: value 1\r\nFrom: a\r\nSubject: b\r\n\r\nbody\n", lua.LVAsString(nat.GetGlobal("OUT")))
}

var xmlCases = []string{
	"<container><item1>1</item1>test<item2>2</item2></container>",
	"<a x='1'>hi<b>2</b>!</a>",
	"<requests>\r\n <message id=\"one\">\r\n  <contents part=\"1\"/>\r\n </message>\r\n</requests>\r\n",
	"<a>&lt;&#13;&#x41;<![CDATA[x]]></a>",
	"<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe9</a>",
	"<a><b></a>",
	"",
	"<a/><b/>",
	"  <a>x</a>  ",
	"<a>x</a>junk",
	"<a b='1' b='2'/>",
	"<a>&undefined;</a>",
	"<ns:a xmlns:ns='u' ns:x='1'/>",
	"<a>\x00</a>",
}

func TestParseXMLNativeMatchesLua(t *testing.T) {
	nat, pure := pairStates(t)
	for _, data := range xmlCases {
		sameBothWays(t, nat, pure, "parse_tree", lua.LString(data))
	}
	got := callStr(t, nat, "parse_tree", lua.LString("<a x='1'>hi<b>2</b>!</a>"))
	assert.Equal(t, "\"nil\" \"nil\" 1\n \"a\" \"hi!\" 1,attrs,data,name\nx=\"1\"\n  \"b\" \"2\" attrs,data,name\n", got)
}

func TestFoldBuildEscapeMatchLua(t *testing.T) {
	nat, pure := pairStates(t)
	for _, v := range []string{"short", strings.Repeat("test ", 19), "a\t\t" + strings.Repeat("x", 100),
		strings.Repeat("a ", 40) + "b", "  lead", "trail  ", "x\r\ny z", ""} {
		for _, max := range []int{78, 20, 5} {
			sameBothWays(t, nat, pure, "fold", lua.LString("Subject"), lua.LString(v), lua.LNumber(max))
		}
		assert.Equal(t, callStr(t, pure, "fold", lua.LString("Subject"), lua.LString(v), lua.LNumber(78)),
			native.Fold("Subject", v, 78))
		sameBothWays(t, nat, pure, "escapes", lua.LString(v+"<&>\"\r\n\t"))
		sameBothWays(t, nat, pure, "message_xml", lua.LString(v))
	}
	sameBothWays(t, nat, pure, "escapes", lua.LNumber(12345))
	for _, L := range []*lua.LState{nat, pure} {
		require.NoError(t, L.DoString(`
			LINES = {"<a>", {"1", {"deep"}, "2"}, "</a>"}
			NUMS = {"<a>", 5, "</a>"}
		`))
	}
	sameBothWays(t, nat, pure, "build", nat.GetGlobal("LINES"), nat.NewTable())
	a := callStr(t, nat, "build", nat.GetGlobal("LINES"), tableOf(nat, "x", "y"))
	b := callStr(t, pure, "build", pure.GetGlobal("LINES"), tableOf(pure, "x", "y"))
	assert.Equal(t, b, a)
	assert.Equal(t, "<x>\r\n <y>\r\n  <a>\r\n   1\r\n    deep\r\n   2\r\n  </a>\r\n </y>\r\n</x>\r\n", a)
	a = callStr(t, nat, "build", nat.GetGlobal("NUMS"), tableOf(nat, "x"))
	b = callStr(t, pure, "build", pure.GetGlobal("NUMS"), tableOf(pure, "x"))
	assert.Equal(t, b, a, "numbers go through the Lua version")
}

func tableOf(L *lua.LState, names ...string) *lua.LTable {
	t := L.NewTable()
	for _, n := range names {
		t.Append(lua.LString(n))
	}
	return t
}

// FuzzContentsNative compares contents.new, the header operations and
// serialisation with and without the Go helpers.
func FuzzContentsNative(f *testing.F) {
	for i, c := range contentsCases {
		f.Add(c, uint8(i*7))
	}
	nat, pure := pairStates(f)
	f.Fuzz(func(t *testing.T, data string, op uint8) {
		sameBothWays(t, nat, pure, "describe", lua.LString(data), lua.LNumber(op%128))
	})
}

// FuzzParseXMLNative compares the Go tree builder with the Lua reader.
func FuzzParseXMLNative(f *testing.F) {
	for _, c := range xmlCases {
		f.Add(c)
	}
	nat, pure := pairStates(f)
	f.Fuzz(func(t *testing.T, data string) {
		sameBothWays(t, nat, pure, "parse_tree", lua.LString(data))
		sameBothWays(t, nat, pure, "message_xml", lua.LString(data))
	})
}
