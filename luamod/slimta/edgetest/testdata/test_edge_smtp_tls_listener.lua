-- spec 4.2 test_edge_smtp_tls_listener: TLS from the first byte (SMTPS).
require "ratchet"
local smtp_client = require "ratchet.smtp.client"
local h = dofile(TESTDATA .. "/helpers.lua")

h.edge_exchange({
    setup = function (edge)
        local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
        ctx:load_certs(CERT_FILE)
        edge:enable_tls(ctx, true)
        edge:set_banner_message(220, "ESMTP slimta test banner")
        edge:set_max_message_size(10485760)
    end,
    client = function (port)
        local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
        ctx:load_cas(nil, CERT_FILE)
        local sock = h.connect(port)
        local enc = sock:encrypt(ctx)
        enc:client_handshake()
        local got, verified, host = enc:verify_certificate("localhost")
        assert(got and verified and host, tostring(got) .. tostring(verified) .. tostring(host))
        local client = smtp_client.new(sock)
        local banner = client:get_banner()
        assert(banner.code == "220" and banner.message == "ESMTP slimta test banner")
        assert(client:ehlo("test").code == "250")
        -- no STARTTLS on an already encrypted connection
        assert(not client.extensions:has("STARTTLS"))
        client:mailfrom("sender@slimta.org")
        client:rcptto("rcpt@slimta.org")
        assert(client:data().code == "354")
        local sent = client:send_data("arbitrary test message data")
        assert(sent.code == "451" and sent.message == "4.6.0 Testing", sent.message)
        client:quit()
    end,
    check = function (msg)
        assert(msg.client.protocol == "ESMTPS", msg.client.protocol)
        assert(msg.client.security == "TLS")
        assert(msg.client.ehlo == "test")
        assert(msg.client.ip == "127.0.0.1")
        assert(msg.envelope.sender == "sender@slimta.org")
        assert(msg.envelope.recipients[1] == "rcpt@slimta.org")
        assert(tostring(msg.contents) == "From: sender@slimta.org\r\n\r\narbitrary test message data")
    end,
})
