-- End to end with swaks (driven by TestSwaks): swaks -> slimta.edge.smtp
-- -> local bus -> a consumer that checks each message and answers. The Go
-- test runs one swaks per case, in order; MESSAGES is how many of them
-- deliver a message. Expectations are keyed by the EHLO name.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"
local h = dofile(TESTDATA .. "/helpers.lua")

local expect = {
    plain = {protocol = "ESMTP", security = "none"},
    starttls = {protocol = "ESMTPS", security = "TLS"},
    ["tls-plain"] = {protocol = "ESMTPSA", security = "TLS", auth = "testuser"},
    ["tls-login"] = {protocol = "ESMTPSA", security = "TLS", auth = "testuser"},
    cram = {protocol = "ESMTPA", security = "none", auth = "testuser"},
    dots = {protocol = "ESMTP", security = "none", body = ".leading dots\r\n.\r\nend"},
}

local function secret(user)
    if user == "testuser" then return "testpass" end
end

local seen = 0
ratchet.new(function ()
    local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    ctx:load_certs(CERT_FILE)
    local auth = slimta.edge.smtp.auth.new()
    auth:add_mechanism("PLAIN", secret)
    auth:add_mechanism("LOGIN", secret)
    auth:add_mechanism("CRAM-MD5", secret)

    local bus_server, bus_client = slimta.bus.new_local()
    local edge = slimta.edge.smtp.new(h.listen(PORT), bus_client)
    edge:enable_tls(ctx)
    edge:enable_authentication(auth)
    edge:set_max_message_size(1048576)
    edge:set_timeout(10)

    local acceptor = ratchet.thread.attach(function ()
        while true do
            ratchet.thread.attach(edge:accept())
        end
    end)
    ready()

    for _ = 1, MESSAGES do
        local t, msgs = bus_server:recv_request()
        assert(#msgs == 1)
        local m = msgs[1]
        local want = expect[m.client.ehlo]
        assert(want, "unexpected EHLO " .. tostring(m.client.ehlo))
        assert(m.client.protocol == want.protocol, m.client.ehlo .. ": protocol " .. m.client.protocol)
        assert(m.client.security == want.security, m.client.ehlo .. ": security " .. m.client.security)
        assert(m.client.auth_info == want.auth, m.client.ehlo .. ": auth " .. tostring(m.client.auth_info))
        assert(m.client.ip == "127.0.0.1")
        assert(m.envelope.sender == "sender@example.com", m.envelope.sender)
        assert(#m.envelope.recipients == 2)
        assert(m.envelope.recipients[1] == "rcpt1@example.org" and m.envelope.recipients[2] == "rcpt2@example.org")
        assert(m.contents.headers.subject[1] == "e2e " .. m.client.ehlo, m.contents.headers.subject[1])
        local raw = tostring(m.contents)
        local body = raw:match("\r\n\r\n(.*)$")
        if want.body then
            assert(body == want.body, ("%q"):format(body))
        else
            assert(body == "slimta end-to-end test", ("%q"):format(body))
        end
        seen = seen + 1
        t:send_response({slimta.message.response.new("250", "Message queued as " .. m.client.ehlo)})
    end
    -- let the last session say QUIT before the listener goes away
    ratchet.thread.timer(0.2)
    ratchet.thread.kill(acceptor)
    edge:close()
end):loop()
assert(seen == MESSAGES)
