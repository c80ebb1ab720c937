-- slimta.xml: the streaming parser binding and escape() (spec 2.6).
local xml = require "slimta.xml"

-- Records events as strings.
local function recorder()
    local ev = {}
    local function start_cb(state, name, attrs)
        assert(state == ev)
        local keys = {}
        for k, v in pairs(attrs) do keys[#keys + 1] = k .. "=" .. v end
        table.sort(keys)
        ev[#ev + 1] = "<" .. name .. (#keys > 0 and " " .. table.concat(keys, " ") or "") .. ">"
    end
    local function end_cb(state, name)
        ev[#ev + 1] = "</" .. name .. ">"
    end
    local function data_cb(state, text)
        -- merge adjacent text events: the split is not significant
        if type(ev[#ev]) == "table" then
            ev[#ev][1] = ev[#ev][1] .. text
        else
            ev[#ev + 1] = {text}
        end
    end
    return ev, start_cb, end_cb, data_cb
end

local function flatten(ev)
    local out = {}
    for i, e in ipairs(ev) do
        out[i] = type(e) == "table" and "[" .. e[1] .. "]" or e
    end
    return table.concat(out)
end

local doc = "<?xml version='1.0'?>\r\n<!-- c -->\r\n<a x='1' y=\"&lt;2&gt;\">hi &amp; bye\r\nline"
    .. "<b/><c z='3'>&#65;<![CDATA[<raw>]]></c>!</a>\r\n"
local expect = "<a x=1 y=<2>>[hi & bye\nline]<b></b><c z=3>[A<raw>]</c>[!]</a>"

-- whole document
local ev, s, e, d = recorder()
local p = xml.new(ev, s, e, d)
assert(p:parse(doc) == true)
assert(flatten(ev) == expect, flatten(ev))

-- every split point, via parsesome and parse(data, true)
for i = 0, #doc do
    local ev2, s2, e2, d2 = recorder()
    local p2 = xml.new(ev2, s2, e2, d2)
    if i % 2 == 0 then
        assert(p2:parsesome(doc:sub(1, i)) == true, "split " .. i)
    else
        assert(p2:parse(doc:sub(1, i), true) == true, "split " .. i)
    end
    assert(p2:parse(doc:sub(i + 1)) == true, "split " .. i)
    assert(flatten(ev2) == expect, "split " .. i .. ": " .. flatten(ev2))
end

-- events arrive while the document is still incomplete
local ev3, s3, e3, d3 = recorder()
local p3 = xml.new(ev3, s3, e3, d3)
assert(p3:parse("<root><item>1</item>", true))
assert(flatten(ev3) == "<root><item>[1]</item>", flatten(ev3))
assert(p3:parse("</root>"))
assert(flatten(ev3) == "<root><item>[1]</item></root>")
local ok, msg = p3:parse("<more/>")
assert(ok == nil and msg == "parsing finished", tostring(msg))

-- callbacks are optional
assert(xml.new(nil):parse("<a><b>text</b></a>"))
assert(xml.new({}, nil, function() end):parse("<a/>"))
assert(not pcall(xml.new, {}, "not a function"))

-- well-formedness errors: nil, message
local bad = {
    [""] = "no element found",
    ["   "] = "no element found",
    ["<a>"] = "no element found",
    ["<a><b>text</b>"] = "no element found",
    ["<a"] = "unclosed token",
    ["<a><b></a>"] = "mismatched tag",
    ["<a/><b/>"] = "junk after document element",
    ["<a/>junk"] = "junk after document element",
    ["junk<a/>"] = "not well-formed (invalid token)",
    ["<a>&bogus;</a>"] = "undefined entity",
    ["<a>a & b</a>"] = "not well-formed (invalid token)",
    ["<a>\255</a>"] = "not well-formed (invalid token)",
    ["<a x='1' x='2'/>"] = "duplicate attribute",
    ["<a><!DOCTYPE a></a>"] = "not well-formed (invalid token)",
}
for input, expected in pairs(bad) do
    local okb, m = xml.new(nil):parse(input)
    assert(okb == nil and m == expected, ("%q: %s"):format(input, tostring(m)))
end
-- an error is sticky
local pb = xml.new(nil)
assert(pb:parse("<a><b></a>", true) == nil)
assert(select(2, pb:parse("</b></a>")) == "mismatched tag")

-- errors raised by callbacks propagate out of parse
local pe = xml.new(nil, function() error("boom", 0) end)
local okc, errc = pcall(pe.parse, pe, "<a/>")
assert(not okc and errc == "boom")

-- a parser may be used from any coroutine
local pc_ev, pc_s, pc_e, pc_d = recorder()
local pc = xml.new(pc_ev, pc_s, pc_e, pc_d)
local co = coroutine.wrap(function() return pc:parse("<x>1</x>", true) end)
assert(co() == true)
assert(pc:parse("") == true)
assert(flatten(pc_ev) == "<x>[1]</x>")

-- namespaces are not processed: names keep their prefixes
local ns_ev, ns_s, ns_e, ns_d = recorder()
assert(xml.new(ns_ev, ns_s, ns_e, ns_d):parse("<p:a xmlns:p='urn:x' p:k='v'/>"))
assert(flatten(ns_ev) == "<p:a p:k=v xmlns:p=urn:x></p:a>", flatten(ns_ev))

-- forced and declared ISO-8859-1
local l_ev, l_s, l_e, l_d = recorder()
assert(xml.new(l_ev, l_s, l_e, l_d, "ISO-8859-1"):parse("<a>caf\233</a>"))
assert(flatten(l_ev) == "<a>[caf\195\169]</a>")
local d_ev, d_s, d_e, d_d = recorder()
assert(xml.new(d_ev, d_s, d_e, d_d):parse("<?xml version='1.0' encoding='ISO-8859-1'?><a>\233</a>"))
assert(flatten(d_ev) == "<a>[\195\169]</a>")
assert(not pcall(xml.new, nil, nil, nil, nil, "EBCDIC-FR"))

-- escape(): & first, then <, >, " (spec 6.13); the round trip is exact.
assert(xml.escape("a<b") == "a&lt;b")
assert(xml.escape([[&<>"']]) == "&amp;&lt;&gt;&quot;'")
assert(xml.escape("plain") == "plain")
local tricky = [[x&amp;<y> "q"]]
local got
xml.new(nil, nil, nil, function(_, t) got = (got or "") .. t end):parse("<a>" .. xml.escape(tricky) .. "</a>")
assert(got == tricky)
assert(not pcall(xml.escape, nil))
