require "ratchet"
require "ratchet.smtp.server"
require "ratchet.smtp.client"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

counter = 0

server_handlers = {}

function server_handlers:BANNER(reply)
    reply.code = "220"
    reply.message = "test banner"
end

function server_handlers:EHLO(reply, ehlo_as)
    assert(ehlo_as == "test")
    reply.code = "250"
    reply.message = "ehlo test"
end

function server_handlers:MAIL(reply, address)
    assert(address == "sender@slimta.org")
    reply.code = "250"
    reply.message = "test sender okay: " .. address
end

function server_handlers:RCPT(reply, address)
    assert(address == "rcpt1@slimta.org" or address == "rcpt2@slimta.org")
    reply.code = "250"
    reply.message = "test rcpt okay: " .. address
end

function server_handlers:DATA(reply)
    reply.code = "354"
    reply.message = "ready for test data"
end

function server_handlers:HAVE_DATA(reply, data, err)
    assert(not err)
    assert(data == "arbitrary test message data")
    reply.code = "250"
    reply.message = "test data received"
end

function server_handlers:SLIMTA(arg, server)
    assert(arg == "test")
    return {code = "123", message = "custom command okay"}
end

function server_handlers:QUIT(reply)
    reply.code = "221"
    reply.message = "test connection quit"
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
    server:handle()
    counter = counter + 1
end

function client_ctx(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local client = ratchet.smtp.client.new(socket)

    local banner = client:get_banner()
    assert(banner.code == "220")
    assert(banner.message == "test banner")

    local ehlo = client:ehlo("test")
    assert(ehlo.code == "250")
    assert(ehlo.message == "ehlo test")

    local mail_from = client:mailfrom("sender@slimta.org")
    local rcpt_to1 = client:rcptto("rcpt1@slimta.org")
    local rcpt_to2 = client:rcptto("rcpt2@slimta.org")
    local data = client:data()

    assert(mail_from.code == "250")
    assert(mail_from.message == "2.1.0 test sender okay: sender@slimta.org")
    assert(rcpt_to1.code == "250")
    assert(rcpt_to1.message == "2.1.5 test rcpt okay: rcpt1@slimta.org")
    assert(rcpt_to2.code == "250")
    assert(rcpt_to2.message == "2.1.5 test rcpt okay: rcpt2@slimta.org")
    assert(data.code == "354")
    assert(data.message == "ready for test data")

    local send_data = client:send_data("arbitrary test message data")
    assert(send_data.code == "250")
    assert(send_data.message == "2.6.0 test data received")

    local custom = client:custom_command("SLIMTA", "test")
    assert(custom.code == "123")
    assert(custom.message == "custom command okay")

    local quit = client:quit()
    assert(quit.code == "221")
    assert(quit.message == "2.0.0 test connection quit")
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(server_ctx, "localhost", PORT)
end)
kernel:loop()
assert(counter == 2)
