-- The SMTP edge builds received messages with the native builder, unless
-- the message constructors were replaced before the edge was created: then
-- it calls them, so that such hooks keep working.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"

local m = slimta.message
local function build(edge)
    return edge.build_message("Subject: x\r\n\r\nbody\r\n", "s@example.com", {"r@example.com"},
                              "ESMTP", "client.example", "127.0.0.1", "none", "mx.example", nil, 7)
end

local plain = slimta.edge.smtp.new({}, nil)
local msg = build(plain)
assert(msg.contents.headers.from[1] == "s@example.com")
assert(msg.envelope.recipients[1] == "r@example.com" and msg.timestamp == 7)
assert(msg.client.protocol == "ESMTP" and msg.client.receiver == "mx.example")

local saved = m.contents.new
local calls = 0
m.contents.new = function (data)
    calls = calls + 1
    return saved(data)
end
local patched = slimta.edge.smtp.new({}, nil)
assert(patched.build_message ~= plain.build_message)
msg = build(patched)
assert(calls == 1, calls)
assert(msg.contents.headers.from[1] == "s@example.com")
m.contents.new = saved

-- with the constructors restored, new edges are native again
assert(slimta.edge.smtp.new({}, nil).build_message == plain.build_message)
