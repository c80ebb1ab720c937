-- spec 4.2 test_add_received_header, plus defaults for missing values
-- (spec 6.6 #48).
require "slimta.message"
require "slimta.policies.add_received_header"

local m = slimta.message
local client = m.client.new("SMTP", "testing", "1.2.3.4", "TLS", "myhost.tld")
local envelope = m.envelope.new("sender@domain.com", {"recipient@domain.com"})
local msg = m.new(client, envelope, m.contents.new("test contents"), 1234567890)
local policy = slimta.policies.add_received_header.new(nil, true)
policy:add(msg)
local rcv = msg.contents.headers.received
assert(#rcv == 1)
local want = "from testing (unknown [1.2.3.4]) by myhost.tld (slimta 0.0) with SMTP for <recipient@domain.com>; Fri, 13 Feb 2009 23:31:30 +0000"
assert(rcv[1] == want, rcv[1])

-- id, several recipients, always prepended (two passes -> two headers)
msg.id = "abc"
msg.envelope.recipients[2] = "other@domain.com"
policy:add(msg)
assert(#rcv == 2 or #msg.contents.headers.received == 2)
local first = msg.contents.headers.received[1]
assert(first:find(" with SMTP id abc for <recipient@domain.com>,<other@domain.com>; ", 1, true), first)
assert(tostring(msg.contents):find("^Received: "))

-- nothing known about the client: no error, "unknown" placeholders
local bare = m.new(m.client.new(), m.envelope.new("", {}), m.contents.new("x"), 0)
policy:add(bare)
local v = bare.contents.headers.received[1]
assert(v:find("^from %[%] %(unknown %[unknown%]%) by unknown %(slimta 0%.0%) with unknown for <>; Thu, 01 Jan 1970 00:00:00 %+0000$"), v)

-- local time format by default
local loc = m.new(client, envelope, m.contents.new("x"), 1234567890)
slimta.policies.add_received_header.new():add(loc)
assert(loc.contents.headers.received[1]:match("; %a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d [+-]%d%d%d%d$"))
