require "ratchet"
require "ratchet.http.client"
require "slimta.message"
require "slimta.bus"
require "slimta.edge.http"

http_port = tonumber(os.getenv("SLIMTA_TEST_HTTP_PORT")) or 8025

function run_edge(edge)
    while true do
        local handler = edge:accept()
        ratchet.thread.attach(handler)
    end
end

function request_handler(bus)
    local transaction, messages = bus:recv_request()

    assert(1 == #messages)
    local message = messages[1]
    assert("HTTP" == message.client.protocol)
    assert("test" == message.client.ehlo)
    assert("127.0.0.1" == message.client.ip)
    assert("none" == message.client.security)
    assert("sender@slimta.org" == message.envelope.sender)
    assert(1 == #message.envelope.recipients)
    assert("rcpt@slimta.org" == message.envelope.recipients[1])
    assert("From: sender@slimta.org\r\n\r\narbitrary test message data" == tostring(message.contents))

    local response = slimta.message.response.new("451", "Testing")
    transaction:send_response({response})

    ratchet.thread.kill(edge_thread)
    edge:close()
end

function send_request()
    local rec = ratchet.socket.prepare_tcp("localhost", http_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:set_timeout(2.0)
    socket:connect(rec.addr)

    local client = ratchet.http.client.new(socket)
    local code, reason, headers, data = client:query("POST", "/email", {
        ["X-Sender"] = {"sender@slimta.org"},
        ["X-Recipient"] = {"rcpt@slimta.org"},
        ["X-Ehlo"] = {"test"},
        ["Content-Type"] = {"message/rfc822"},
        ["Content-Length"] = {27},
    }, "arbitrary test message data")

    assert("500" == tostring(code))
    assert("Testing" == reason)
    got_response = true
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", http_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local server_bus, client_bus = slimta.bus.new_local()
    edge = slimta.edge.http.new(socket, client_bus)

    edge_thread = ratchet.thread.attach(run_edge, edge)
    ratchet.thread.attach(request_handler, server_bus)
    ratchet.thread.attach(send_request)
end)
kernel:loop()

assert(got_response)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
