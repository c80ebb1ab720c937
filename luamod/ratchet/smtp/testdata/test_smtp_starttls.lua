-- test_smtp_starttls: STARTTLS offered, negotiated mid-session, then the
-- full transaction over TLS. CERT holds the certificate and key.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local done = 0
local handlers = {}

function handlers:MAIL(reply, address)
    reply.message = "test sender okay: " .. address
end

function handlers:HAVE_DATA(reply, data, err)
    assert(data == "arbitrary test message data\r\nline 2\r\n.leading dot", data)
end

function server_ctx(socket)
    local ssl1 = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    ssl1:load_certs(CERT)
    local client = socket:accept()
    local server = ratchet.smtp.server.new(client, handlers, ssl1)
    server:handle()
    assert(server.using_tls)
    done = done + 1
end

function client_ctx(rec)
    local ssl2 = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
    ssl2:load_cas(nil, CERT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.smtp.client.new(socket)

    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    assert(client.extensions:has("STARTTLS"))
    local tls = client:starttls()
    assert(tls.code == "220", tls.code)
    assert(tls.message == "2.7.0 Go ahead", tls.message)

    local enc = client.io.socket:encrypt(ssl2)
    enc:client_handshake()
    local got_cert, verified, host_matched = enc:verify_certificate("localhost")
    assert(got_cert and verified and host_matched)

    local ehlo = client:ehlo("test")
    assert(ehlo.code == "250")
    assert(not client.extensions:has("STARTTLS"))

    local mail = client:mailfrom("sender@slimta.org")
    local rcpt = client:rcptto("rcpt@slimta.org")
    local data = client:data()
    assert(mail.code == "250" and mail.message == "2.1.0 test sender okay: sender@slimta.org", mail.message)
    assert(rcpt.code == "250")
    assert(data.code == "354")
    local sent = client:send_data("arbitrary test message data\nline 2\r\n.leading dot\r\n")
    assert(sent.code == "250", sent.code)
    assert(sent.message == "2.6.0 Message Accepted for Delivery", sent.message)
    assert(client:quit().code == "221")
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
