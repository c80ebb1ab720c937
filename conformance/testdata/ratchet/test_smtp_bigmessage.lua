require "ratchet"
require "ratchet.smtp.server"
require "ratchet.smtp.client"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

counter = 0

server_handlers = {}

function server_handlers:MAIL(reply, address)
    reply.code = "250"
    reply.message = "test sender okay: " .. address
end

function server_handlers:RCPT(reply, address)
    reply.code = "250"
    reply.message = "test rcpt okay: " .. address
end

function server_handlers:HAVE_DATA(reply, data, err)
    if ratchet.error.is(err, "MSGTOOBIG") then
        reply.code = "552"
        reply.message = "message too big"
        reply.enhanced_status_code = "5.3.4"
    elseif err then
        error(err)
    else
        error("message should have been too big")
    end
end

function server_ctx(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(client_ctx, host, port)

    local client = socket:accept()
    local server = ratchet.smtp.server.new(client, server_handlers)
    server.extensions:add("SIZE", "25")
    server:handle()
    counter = counter + 1
end

function client_ctx(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local client = ratchet.smtp.client.new(socket)

    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    assert(client.extensions:has("SIZE") == "25")

    local mail_from = client:mailfrom("sender@slimta.org")
    local rcpt_to = client:rcptto("rcpt@slimta.org")
    local data = client:data()
    assert(mail_from.code == "250")
    assert(rcpt_to.code == "250")
    assert(data.code == "354")

    local send_data = client:send_data(string.rep("a", 26))
    assert(send_data.code == "552")
    assert(send_data.message == "5.3.4 message too big")

    local quit = client:quit()
    assert(quit.code == "221")
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(server_ctx, "localhost", PORT)
end)
kernel:loop()
assert(counter == 2)
