require "slimta.message"
require "slimta.policies.add_received_header"

local client = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "myhost.tld")
local envelope = slimta.message.envelope.new("sender@domain.com", {"recipient@domain.com"})
local contents = slimta.message.contents.new("From: test\r\n\r\nbody\r\n")
local message = slimta.message.new(client, envelope, contents, 1234567890)

local received = slimta.policies.add_received_header.new(nil, true)

assert(0 == #message.contents.headers.received)
received:add(message)
assert(1 == #message.contents.headers.received)
local expected = "from testing (unknown [1.2.3.4]) by myhost.tld (slimta 0.0) with SMTP for <recipient@domain.com>; Fri, 13 Feb 2009 23:31:30 +0000"
assert(expected == message.contents.headers.received[1], message.contents.headers.received[1])

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
