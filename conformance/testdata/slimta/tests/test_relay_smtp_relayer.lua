require "ratchet"
require "ratchet.smtp.server"
require "slimta.message"
require "slimta.bus"
require "slimta.relay"

smtp_port = tonumber(os.getenv("SLIMTA_TEST_SMTP_PORT")) or 2525

tracker = 0

server_handlers = {}

function server_handlers:EHLO(reply, ehlo_as)
    assert("test_ehlo" == ehlo_as)
    tracker = tracker + 1
end

function server_handlers:MAIL(reply, address)
    assert("sender@slimta.org" == address)
    tracker = tracker + 2
end

function server_handlers:RCPT(reply, address)
    if "rcpt1@slimta.org" == address then
        tracker = tracker + 4
    elseif "rcpt2@slimta.org" == address then
        tracker = tracker + 8
    else
        error("unexpected recipient: " .. address)
    end
end

function server_handlers:HAVE_DATA(reply, data, err)
    local expected = "From: Test Sender <sender@slimta.org>\r\nTo: Test Recipient <rcpt1@slimta.org>\r\nCc: Test Recipient <rcpt2@slimta.org>\r\nSubject: test message\r\n\r\nbeep beep"
    assert(expected == data, data)
    tracker = tracker + 16
    reply.message = "Ok"
end

function smtp_server(socket)
    local client = socket:accept()
    client:set_timeout(2.0)
    local server = ratchet.smtp.server.new(client, server_handlers)
    server:handle()
    socket:close()
end

function send_message(bus)
    local client = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "none")
    local envelope = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"}, "SMTP", "localhost", smtp_port)
    local contents = slimta.message.contents.new([[
From: Test Sender <sender@slimta.org>
To: Test Recipient <rcpt1@slimta.org>
Cc: Test Recipient <rcpt2@slimta.org>
Subject: test message

beep beep
]])
    local message = slimta.message.new(client, envelope, contents, os.time())

    local transaction = bus:send_request({message})
    local responses = transaction:recv_response()
    assert(1 == #responses)
    assert("250" == responses[1].code, responses[1].code)
    assert("2.6.0 Ok" == responses[1].message, responses[1].message)
    got_response = true
end

function run_relay(relay)
    local job = relay:accept()
    job()
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(smtp_server, socket)

    local relay_server, relay_client = slimta.bus.new_local()
    local relay = slimta.relay.new(relay_server)
    local smtp = slimta.relay.smtp.new()
    smtp:set_ehlo_as("test_ehlo")
    relay:add_relayer("SMTP", smtp)

    ratchet.thread.attach(run_relay, relay)
    ratchet.thread.attach(send_message, relay_client)
end)
kernel:loop()

assert(got_response)
assert(31 == tracker, tracker)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
