-- A TCP bus carrying real slimta messages and responses (spec 2.9.3-2.9.4,
-- 3.1-3.2, fixes 6.12, 6.27, 6.28): values with XML special characters,
-- multi-line texts, binary contents, and string codes on the way back.
require "ratchet"
require "slimta.bus"
require "slimta.message"

bus_port = tonumber(os.getenv("SLIMTA_TEST_BUS_PORT")) or 10025

local contents = "Subject: <tags> & \"quotes\"\r\n\r\n\0binary\255\r\n.\r\nend"

function server_side()
    local server = slimta.bus.new_server("localhost", bus_port, slimta.message)
    server:listen()
    ratchet.thread.attach(client_side)

    local transaction, messages = server:recv_request()
    assert(2 == #messages)
    local m = messages[1]
    assert("the-id" == m.id)
    assert("12345" == tostring(m.timestamp))
    assert(3 == m.attempts)
    assert("ESMTPA" == m.client.protocol)
    assert("client <x> & y" == m.client.ehlo, m.client.ehlo)
    assert("127.0.0.1" == m.client.ip)
    assert("al<i>ce" == m.client.auth_info)
    assert('"a</recipient><recipient>b"@example.org' == m.envelope.sender)
    assert(2 == #m.envelope.recipients)
    assert("x&y@example.org" == m.envelope.recipients[2])
    assert("SMTP" == m.envelope.dest_relayer)
    assert("mx.example.org" == m.envelope.dest_host)
    assert(2525 == m.envelope.dest_port)
    assert(contents == tostring(m.contents))
    assert("b" == messages[2].contents.headers.a[1])
    assert(nil == messages[2].id)

    transaction:send_response({
        slimta.message.response.new("550", "5.1.1 <user@example.org>: Recipient address rejected\r\nsecond & last line"),
        slimta.message.response.new("250", "Message queued as q1", "q1"),
    })
end

function client_side()
    local client = slimta.bus.new_client("localhost", bus_port, slimta.message.response)
    local c = slimta.message.client.new("ESMTPA", "client <x> & y", "127.0.0.1", "TLS", "here", "al<i>ce")
    local e = slimta.message.envelope.new('"a</recipient><recipient>b"@example.org',
        {"rcpt@example.org", "x&y@example.org"}, "SMTP", "mx.example.org", 2525)
    local m1 = slimta.message.new(c, e, slimta.message.contents.new(contents), 12345, "the-id", 3)
    local m2 = slimta.message.new(slimta.message.client.new("SMTP", "e", "1.1.1.1", "none", "r"),
        slimta.message.envelope.new("", {"z@example.org"}), slimta.message.contents.new("A: b\r\n\r\n"), 1)

    local responses = client:send_request({m1, m2}):recv_response()
    assert(2 == #responses)
    assert("550" == responses[1].code)
    assert("string" == type(responses[1].code))
    assert("5.1.1 <user@example.org>: Recipient address rejected\r\nsecond & last line" == responses[1].message,
        responses[1].message)
    assert("250" == responses[2].code)
    assert("Message queued as q1" == responses[2].message)
    assert("q1" == responses[2].data)
    got_responses = true
end

kernel = ratchet.new(server_side)
kernel:loop()
assert(got_responses)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
