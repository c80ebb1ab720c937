require "ratchet"
require "ratchet.smtp.client"
require "slimta.message"
require "slimta.bus"
require "slimta.edge.smtp"

smtp_port = tonumber(os.getenv("SLIMTA_TEST_SMTP_PORT")) or 2525

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
    assert("ESMTPS" == message.client.protocol)
    assert("test" == message.client.ehlo)
    assert("127.0.0.1" == message.client.ip)
    assert("TLS" == message.client.security)
    assert("sender@slimta.org" == message.envelope.sender)
    assert(1 == #message.envelope.recipients)
    assert("rcpt@slimta.org" == message.envelope.recipients[1])
    assert("From: sender@slimta.org\r\n\r\narbitrary test message data" == tostring(message.contents))

    local response = slimta.message.response.new("451", "Testing")
    transaction:send_response({response})

    ratchet.thread.kill(edge_thread)
    edge:close()
end

function send_message()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:set_timeout(2.0)
    socket:connect(rec.addr)

    local client = ratchet.smtp.client.new(socket)

    local banner = client:get_banner()
    assert("220" == banner.code)
    assert("ESMTP slimta test banner" == banner.message)

    local ehlo = client:ehlo("test_pretls")
    assert("250" == ehlo.code)

    local starttls = client:starttls()
    assert("220" == starttls.code)

    local ssl = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    ssl:load_cas(nil, "cert.pem")
    local enc = socket:encrypt(ssl)
    enc:client_handshake()

    local got_cert, verified, host_matched = enc:verify_certificate("localhost")
    assert(got_cert)
    assert(verified)
    assert(host_matched)

    ehlo = client:ehlo("test")
    assert("250" == ehlo.code)

    local mail_from = client:mailfrom("sender@slimta.org")
    local rcpt_to = client:rcptto("rcpt@slimta.org")
    local data = client:data()
    assert("250" == mail_from.code)
    assert("250" == rcpt_to.code)
    assert("354" == data.code)

    local message = client:send_data("arbitrary test message data")
    assert("451" == message.code)
    assert("Testing" == message.message:match("%a+"), message.message)

    client:quit()
    got_response = true
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local server_bus, client_bus = slimta.bus.new_local()
    edge = slimta.edge.smtp.new(socket, client_bus)
    edge:set_banner_message(220, "ESMTP slimta test banner")
    edge:set_max_message_size(10485760)

    local ssl = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    ssl:load_certs("cert.pem")
    edge:enable_tls(ssl)

    edge_thread = ratchet.thread.attach(run_edge, edge)
    ratchet.thread.attach(request_handler, server_bus)
    ratchet.thread.attach(send_message)
end)
kernel:loop()

assert(got_response)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
