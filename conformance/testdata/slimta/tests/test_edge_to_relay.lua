require "ratchet"
require "ratchet.http.client"
require "ratchet.smtp.server"
require "slimta.message"
require "slimta.bus"
require "slimta.edge.http"
require "slimta.relay"

http_port = tonumber(os.getenv("SLIMTA_TEST_HTTP_PORT")) or 8025
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
    end
end

function server_handlers:HAVE_DATA(reply, data, err)
    assert("From: sender@slimta.org\r\n\r\narbitrary test message data" == data, data)
    tracker = tracker + 16
    reply.code = "451"
    reply.message = "4.6.0 Testing"
end

function smtp_server(socket)
    local client = socket:accept()
    client:set_timeout(2.0)
    local server = ratchet.smtp.server.new(client, server_handlers)
    server:handle()
    socket:close()
end

function run_edge(edge)
    local handler = edge:accept()
    handler()
    edge:close()
end

function run_router(from_bus, to_bus)
    local transaction, messages = from_bus:recv_request()
    for i, message in ipairs(messages) do
        message.envelope.dest_relayer = "SMTP"
        message.envelope.dest_host = "localhost"
        message.envelope.dest_port = smtp_port
    end
    local responses = to_bus:send_request(messages):recv_response()
    transaction:send_response(responses)
end

function run_relay(relay)
    local job = relay:accept()
    job()
end

function send_request()
    local rec = ratchet.socket.prepare_tcp("localhost", http_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:set_timeout(2.0)
    socket:connect(rec.addr)

    local client = ratchet.http.client.new(socket)
    local code, reason, headers, data = client:query("POST", "/email", {
        ["X-Sender"] = {"sender@slimta.org"},
        ["X-Recipient"] = {"rcpt1@slimta.org", "rcpt2@slimta.org"},
        ["X-Ehlo"] = {"test"},
        ["Content-Type"] = {"message/rfc822"},
        ["Content-Length"] = {27},
    }, "arbitrary test message data")

    assert("500" == tostring(code), tostring(code))
    assert("4.6.0 Testing" == reason, reason)
    got_response = true
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local smtp_socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    smtp_socket:setsockopt("SO_REUSEADDR", true)
    smtp_socket:bind(rec.addr)
    smtp_socket:listen()
    ratchet.thread.attach(smtp_server, smtp_socket)

    rec = ratchet.socket.prepare_tcp("localhost", http_port)
    local http_socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    http_socket:setsockopt("SO_REUSEADDR", true)
    http_socket:bind(rec.addr)
    http_socket:listen()

    local edge_server, edge_client = slimta.bus.new_local()
    local relay_server, relay_client = slimta.bus.new_local()

    local edge = slimta.edge.http.new(http_socket, edge_client)

    local relay = slimta.relay.new(relay_server)
    local smtp = slimta.relay.smtp.new()
    smtp:set_ehlo_as("test_ehlo")
    relay:add_relayer("SMTP", smtp)

    ratchet.thread.attach(run_edge, edge)
    ratchet.thread.attach(run_router, edge_server, relay_client)
    ratchet.thread.attach(run_relay, relay)
    ratchet.thread.attach(send_request)
end)
kernel:loop()

assert(got_response)
assert(31 == tracker, tracker)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
