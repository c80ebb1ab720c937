-- Escaping on the TCP bus (spec 3.2, 6.12, 6.13, 6.32): hostile values
-- survive a write/read round trip unchanged and cannot inject elements.
require "slimta.message"
local writer = require "slimta.xml.writer"
local reader = require "slimta.xml.reader"

local function roundtrip(items, item_type, containers)
    local w = writer.new()
    for _, item in ipairs(items) do w:add_item(item) end
    local xml, attachments = w:build(containers or {"requests"})
    local root = reader.new():parse_xml(xml)
    local out = {}
    for i, node in ipairs(root[1]) do out[i] = item_type.from_xml(node, attachments) end
    return out, xml
end

local evil_rcpt = '"a</recipient><recipient>b"@x'
local client = slimta.message.client.new("ESMTPSA", "ehlo <&> name", "::1", "TLS",
    "host & co", "us\"er <x> & y")
local env = slimta.message.envelope.new("s&<>@x", {evil_rcpt, "plain@x"},
    'rel"ay', "h<o>st", "25\"")
local raw = "Subject: binary \0 safe\r\n\r\nbody <not xml> & stuff\r\n"
local msg = slimta.message.new(client, env, slimta.message.contents.new(raw),
    1234567890, 'id"<&>', 3)

local out, xml = roundtrip({msg}, slimta.message)
assert(not xml:find("<recipient>b", 1, true), "injection")
local m = out[1]
assert(#out == 1)
assert(m.id == 'id"<&>')
assert(m.timestamp == 1234567890)
assert(m.attempts == 3)
assert(m.client.protocol == "ESMTPSA")
assert(m.client.ehlo == "ehlo <&> name", m.client.ehlo) -- trimmed, not cut at spaces
assert(m.client.receiver == "host & co")
assert(m.client.auth_info == "us\"er <x> & y")
assert(m.envelope.sender == "s&<>@x")
assert(#m.envelope.recipients == 2)
assert(m.envelope.recipients[1] == evil_rcpt)
assert(m.envelope.recipients[2] == "plain@x")
assert(m.envelope.dest_relayer == 'rel"ay')
assert(m.envelope.dest_host == "h<o>st")
assert(m.envelope.dest_port == nil) -- not numeric
assert(tostring(m.contents) == raw)

-- responses: multi-line texts with markup survive, codes stay strings
local r1 = slimta.message.response.new("550", "5.1.1 <user@example>: Recipient\r\naddress rejected")
local r2 = slimta.message.response.new("250", "2.6.0 Message queued as <abc>", "abc&def")
local rs = roundtrip({r1, r2}, slimta.message.response, {"responses"})
assert(rs[1].code == "550" and type(rs[1].code) == "string")
assert(rs[1].message == r1.message, rs[1].message)
assert(rs[1].data == nil)
assert(rs[2].code == "250")
assert(rs[2].message == r2.message)
assert(rs[2].data == "abc&def")

-- the response layout of spec 3.2
local w = writer.new()
w:add_item(slimta.message.response.new("250", "Ok"))
w:add_item(slimta.message.response.new("250", "Queued", "ID"))
assert(w:build({"responses"}) == '<responses>\r\n <reply code="250">Ok</reply>\r\n'
    .. ' <reply code="250">Queued\r\n  <data>ID</data>\r\n </reply>\r\n</responses>\r\n')

-- a client with missing fields is written without them and reads back nil
local partial = slimta.message.new(slimta.message.client.new("HTTP"), slimta.message.envelope.new(nil, {}),
    slimta.message.contents.new(""))
local p = roundtrip({partial}, slimta.message)[1]
assert(p.client.protocol == "HTTP" and p.client.ehlo == nil)
assert(p.envelope.sender == nil and #p.envelope.recipients == 0)
assert(tostring(p.contents) == "")
