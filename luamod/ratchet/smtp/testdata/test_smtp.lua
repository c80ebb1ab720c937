-- test_smtp: client and server of ratchet.smtp talk to each other; hooks
-- override every default and a custom verb answers without ESC.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local done = 0

local handlers = {}

function handlers:BANNER(reply)
    reply.code = "220"
    reply.message = "test banner"
end

function handlers:EHLO(reply, ehlo_as)
    assert(ehlo_as == "test")
end

function handlers:MAIL(reply, address)
    assert(address == "sender@slimta.org")
    reply.message = "test sender okay: " .. address
end

function handlers:RCPT(reply, address)
    reply.message = "test recipient okay: " .. address
end

function handlers:DATA(reply)
    reply.code = "354"
    reply.message = "ready for test data"
end

function handlers:HAVE_DATA(reply, data, err)
    assert(not err)
    assert(data == "arbitrary test message data", data)
    reply.message = "test data received"
end

function handlers:SLIMTA(arg, server)
    assert(arg == "test")
    assert(server.ehlo_as == "test")
    return {code = "123", message = "custom command okay"}
end

function handlers:QUIT(reply)
    reply.message = "test connection quit"
end

function server_ctx(socket)
    local client = socket:accept()
    local server = ratchet.smtp.server.new(client, handlers)
    server:handle()
    done = done + 1
end

function client_ctx(rec)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.smtp.client.new(socket)

    local banner = client:get_banner()
    assert(banner.code == "220" and banner.message == "test banner", banner.message)

    local ehlo = client:ehlo("test")
    assert(ehlo.code == "250")
    assert(client.extensions:has("PIPELINING"))

    local mail = client:mailfrom("sender@slimta.org")
    local rcpt1 = client:rcptto("rcpt1@slimta.org")
    local rcpt2 = client:rcptto("rcpt2@slimta.org")
    assert(mail.code == nil, "MAIL reply must wait for the batch")
    local data = client:data()

    assert(mail.code == "250")
    assert(mail.message == "2.1.0 test sender okay: sender@slimta.org", mail.message)
    assert(rcpt1.code == "250")
    assert(rcpt1.message == "2.1.5 test recipient okay: rcpt1@slimta.org", rcpt1.message)
    assert(rcpt2.code == "250")
    assert(rcpt2.message == "2.1.5 test recipient okay: rcpt2@slimta.org", rcpt2.message)
    assert(data.code == "354")
    assert(data.message == "ready for test data", data.message)

    local sent = client:send_data("arbitrary test message data")
    assert(sent.code == "250")
    assert(sent.message == "2.6.0 test data received", sent.message)

    local custom = client:custom_command("SLIMTA", "test")
    assert(custom.code == "123")
    assert(custom.message == "custom command okay", custom.message)

    local quit = client:quit()
    assert(quit.code == "221")
    assert(quit.message == "2.0.0 test connection quit", quit.message)
    done = done + 1
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(client_ctx, rec)
    server_ctx(socket)
end)
kernel:loop()
assert(done == 2)
