require "ratchet"
require "ratchet.smtp.server"
require "ratchet.smtp.client"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
CERT = os.getenv("RATCHET_TEST_CERT") or "cert.pem"

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
    assert(data == "arbitrary test message data")
    reply.code = "250"
    reply.message = "test data received"
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

    local ssl1 = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    ssl1:load_certs(CERT)

    ratchet.thread.attach(client_ctx, host, port)

    local client = socket:accept()
    local server = ratchet.smtp.server.new(client, server_handlers, ssl1)
    server:handle()
    assert(server.using_tls)
    counter = counter + 1
end

function client_ctx(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local ssl2 = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
    ssl2:load_cas(nil, CERT)

    local client = ratchet.smtp.client.new(socket)

    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    assert(client.extensions:has("STARTTLS"))

    local starttls = client:starttls()
    assert(starttls.code == "220")
    local enc = client.io.socket:encrypt(ssl2)
    enc:client_handshake()
    local got_cert, verified, host_matched = enc:verify_certificate("localhost")
    assert(got_cert and verified and host_matched)

    assert(client:ehlo("test").code == "250")
    assert(not client.extensions:has("STARTTLS"))

    local mail_from = client:mailfrom("sender@slimta.org")
    local rcpt_to = client:rcptto("rcpt@slimta.org")
    local data = client:data()
    assert(mail_from.code == "250")
    assert(mail_from.message == "2.1.0 test sender okay: sender@slimta.org")
    assert(rcpt_to.code == "250")
    assert(rcpt_to.message == "2.1.5 test rcpt okay: rcpt@slimta.org")
    assert(data.code == "354")

    local send_data = client:send_data("arbitrary test message data")
    assert(send_data.code == "250")
    assert(send_data.message == "2.6.0 test data received")

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
