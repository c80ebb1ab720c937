-- spec 4.2 test_edge_smtp_starttls_listener: STARTTLS, then a second EHLO.
require "ratchet"
local smtp_client = require "ratchet.smtp.client"
local h = dofile(TESTDATA .. "/helpers.lua")

h.edge_exchange({
    setup = function (edge)
        local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
        ctx:load_certs(CERT_FILE)
        edge:enable_tls(ctx)
        edge:set_max_message_size(10485760)
    end,
    client = function (port)
        local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
        ctx:load_cas(nil, CERT_FILE)
        local client = smtp_client.new(h.connect(port))
        local banner = client:get_banner()
        assert(banner.code == "220" and banner.message == "ESMTP Welcome", banner.message)
        assert(client:ehlo("test_pretls").code == "250")
        assert(client.extensions:has("STARTTLS"))
        assert(client:starttls().code == "220")
        local enc = client.io.socket:encrypt(ctx)
        enc:client_handshake()
        local got, verified, host = enc:verify_certificate("localhost")
        assert(got and verified and host)
        assert(client:ehlo("test").code == "250")
        assert(not client.extensions:has("STARTTLS"))
        client:mailfrom("sender@slimta.org")
        client:rcptto("rcpt@slimta.org")
        assert(client:data().code == "354")
        local sent = client:send_data("arbitrary test message data")
        assert(sent.code == "451" and sent.message:match("%a+") == "Testing")
        client:quit()
    end,
    check = function (msg)
        assert(msg.client.protocol == "ESMTPS", msg.client.protocol)
        assert(msg.client.ehlo == "test", msg.client.ehlo)
        assert(msg.client.security == "TLS")
        assert(tostring(msg.contents) == "From: sender@slimta.org\r\n\r\narbitrary test message data")
    end,
})
