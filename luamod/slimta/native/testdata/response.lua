-- slimta.message.response (spec 2.15, 6.15, 6.27, 6.52).
local response = require "slimta.message.response"

local r = response.new()
assert(r.code == "" and r.message == "" and r.data == nil)
r = response.new("250", "2.6.0 Message accepted", "id123")
local code, msg = r:as_smtp()
assert(code == "250" and msg == "2.6.0 Message accepted")

local cases = {
    {"250", "200"}, {"221", "200"}, {"421", "503"}, {"450", "503"},
    {"451", "500"}, {"452", "500"}, {"535", "403"}, {"550", "400"},
    {"554", "400"}, {"354", "400"}, {451, "500"}, {" 250 ", "200"},
}
for _, c in ipairs(cases) do
    local h = response.new(c[1], "Testing"):as_http()
    assert(h.code == c[2], tostring(c[1]) .. " -> " .. h.code)
    assert(h.message == "Testing")
    assert(type(h.headers) == "table" and next(h.headers) == nil and h.data == nil)
end
-- anchored patterns: no partial matches
for _, bad in ipairs({"", "25", "2500", "x250", "abc"}) do
    local ok, err = pcall(response.as_http, response.new(bad, "x"))
    assert(not ok and err:find("Invalid message response code: " .. bad, 1, true), tostring(err))
end

local h = response.new("250", "Queued", "abc"):as_http()
assert(h.data == "abc" and h.headers["Content-Length"][1] == 3)

-- reason phrases cannot carry CR/LF
h = response.new("451", "4.6.0 Testing\r\nX-Injected: 1"):as_http()
assert(h.message == "4.6.0 Testing X-Injected: 1", h.message)

-- to_xml layouts
local lines = response.new("250", "Ok"):to_xml()
assert(#lines == 1 and lines[1] == '<reply code="250">Ok</reply>')
lines = response.to_xml(response.new("250", "Ok", "id"))
assert(#lines == 3 and lines[1] == '<reply code="250">Ok' and lines[2] == " <data>id</data>" and lines[3] == "</reply>")

-- from_xml: code stays a string, text and data are trimmed
local reader = require "slimta.xml.reader"
local node = reader.new():parse_xml('<reply code="451">\n  4.4.1 Connection failed \n <data> x </data></reply>')[1]
local back = response.from_xml(node)
assert(back.code == "451" and back.message == "4.4.1 Connection failed" and back.data == "x")
assert(not pcall(response.from_xml, {name = "nope", attrs = {}}))
