-- Interop client for the Go tests: delivers each string of the global MSGS
-- to HOST:PORT with ratchet.smtp.client (STARTTLS first when TLS is set);
-- every message must be accepted with a 250.
require "ratchet"
require "ratchet.smtp.client"

ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp(HOST or "127.0.0.1", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.smtp.client.new(socket)
    local banner = client:get_banner()
    assert(banner.code == "220", banner.code)
    local ehlo = client:ehlo("deliver.example")
    assert(ehlo.code == "250", ehlo.code)
    if TLS then
        assert(client:starttls().code == "220")
        local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
        client.io.socket:encrypt(ctx):client_handshake()
        assert(client:ehlo("deliver.example").code == "250")
    end
    for i = 1, #MSGS do
        local mail = client:mailfrom("sender" .. i .. "@example.com", #MSGS[i])
        local rcpt = client:rcptto("rcpt" .. i .. "@example.org")
        local data = client:data()
        assert(mail.code == "250", "MAIL " .. tostring(mail.code) .. " " .. tostring(mail.message))
        assert(rcpt.code == "250", "RCPT " .. tostring(rcpt.code) .. " " .. tostring(rcpt.message))
        assert(data.code == "354", "DATA " .. tostring(data.code) .. " " .. tostring(data.message))
        local sent = client:send_data(MSGS[i])
        assert(sent.code == "250", "message " .. i .. ": " .. tostring(sent.code) .. " " .. tostring(sent.message))
    end
    assert(client:rset().code == "250")
    assert(client:quit().code == "221")
end):loop()
