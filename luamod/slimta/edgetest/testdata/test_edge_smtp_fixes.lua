-- The SMTP edge behaviours of spec 3.6 and the fixes of spec 6.1, checked
-- byte for byte over raw connections.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"
local h = dofile(TESTDATA .. "/helpers.lua")

local function hex(s)
    return (s:gsub(".", function (c) return ("%02x"):format(c:byte()) end))
end
local function secret(user)
    if user == "testuser" then return "testpass" end
end

local received = {}
local port, relay_port = free_port(), free_port()
local client_ctx

-- cram(c): authenticate with CRAM-MD5 on conversation c
local function cram(c)
    local code, lines = c:cmd("AUTH CRAM-MD5")
    assert(code == "334", code)
    local challenge = slimta.base64.decode(lines[1])
    c:expect(h.b64("testuser " .. hex(slimta.hmac.encode("md5", challenge, "testpass"))),
             "235", "2.7.0 Authentication successful")
end

local function send_message(c, body, code, text)
    c:expect("DATA", "354", "Start mail input; end with <CRLF>.<CRLF>")
    c:send(body .. "\r\n.\r\n")
    local got, lines = c:reply()
    assert(got == code, tostring(got) .. " " .. table.concat(lines, "|"))
    if text then
        assert(lines[#lines] == text, lines[#lines])
    end
end

local big = {}
for i = 1, 20 do
    big[#big + 1] = ("line %02d of a message that is far too big"):format(i)
end
big[4] = "RCPT TO:<smuggled@example.com>"
big[5] = "DATA"
big = table.concat(big, "\r\n")

local tests = {}

-- sequence rules, EHLO extension order, AUTH syntax, size limit draining,
-- null sender without From header
tests[#tests + 1] = function ()
    local c = h.conversation(h.connect(port))
    assert(c:reply() == "220")
    c:expect("AUTH CRAM-MD5", "503", "5.5.1 Bad sequence of commands")
    local lines = c:expect("EHLO client.example", "250")
    assert(table.concat(lines, "|") ==
        "Hello client.example|8BITMIME|PIPELINING|ENHANCEDSTATUSCODES|STARTTLS|SIZE 400|AUTH CRAM-MD5",
        table.concat(lines, "|"))
    c:expect("AUTH", "501", "5.5.4 Syntax error in parameters or arguments")
    c:expect("AUTH    ", "501", "5.5.4 Syntax error in parameters or arguments")
    c:expect("AUTH PLAIN AHRlc3R1c2VyAHRlc3RwYXNz", "504", "5.5.4 Invalid authentication mechanism")
    c:expect("MAIL FROM:<a@example.com>", "250", "2.1.0 Sender <a@example.com> Ok")
    c:expect("AUTH CRAM-MD5", "503", "5.5.1 Bad sequence of commands")
    c:expect("RSET", "250", "2.0.0 Ok")
    c:expect("AUTH CRAM-MD5", "334")
    c:expect("*", "501", "5.7.0 Authentication canceled by client")
    c:expect("AUTH LOGIN", "504", "5.5.4 Invalid authentication mechanism")
    c:expect("MAIL FROM:<> SIZE=999", "552", "5.3.4 Message size exceeds 400 limit")
    c:expect("MAIL FROM:<>", "250", "2.1.0 Sender <> Ok")
    c:expect("RCPT TO:<r1@example.com>", "250", "2.1.5 Recipient <r1@example.com> Ok")
    -- oversized data is read to its end and answered once (spec 6.1 #1)
    send_message(c, big, "552", "5.3.4 Message exceeded size limit.")
    c:expect("NOOP", "250", "2.0.0 Ok")
    c:expect("RCPT TO:<r1@example.com>", "503")
    -- null sender: no empty From header (spec 6.1 #10)
    c:expect("MAIL FROM:<>", "250")
    c:expect("RCPT TO:<r2@example.com>", "250")
    send_message(c, "Subject: null sender\r\n\r\nhi", "250", "2.6.0 Message queued as 1")
    c:quit()
end

-- HELO: protocol stays SMTP, the size limit still applies (spec 6.1 #2)
tests[#tests + 1] = function ()
    local c = h.conversation(h.connect(port))
    assert(c:reply() == "220")
    local lines = c:expect("HELO oldclient", "250")
    assert(#lines == 1 and lines[1] == "Hello oldclient")
    c:expect("MAIL FROM:<old@example.com>", "250")
    c:expect("RCPT TO:<r3@example.com>", "250")
    send_message(c, big, "552", "5.3.4 Message exceeded size limit.")
    c:expect("MAIL FROM:<old@example.com>", "250")
    c:expect("RCPT TO:<r3@example.com>", "250")
    send_message(c, "small", "250", "2.6.0 Message queued as 2")
    c:quit()
end

-- validators: numeric codes work (spec 6.1 #7); a rejected STARTTLS
-- changes nothing (spec 6.1 #5)
tests[#tests + 1] = function ()
    local c = h.conversation(h.connect(port))
    assert(c:reply() == "220")
    c:expect("EHLO no-tls", "250")
    c:expect("STARTTLS", "454", "4.7.0 TLS not available now")
    local lines = c:expect("EHLO no-tls", "250")
    assert(lines[#lines] == "AUTH CRAM-MD5", lines[#lines])
    c:expect("MAIL FROM:<numeric@example.com>", "550", "5.1.0 Sender refused")
    c:expect("RCPT TO:<r@example.com>", "503", "5.5.1 Bad sequence of commands")
    c:expect("MAIL FROM:<fine@example.com>", "250")
    c:expect("RCPT TO:<blocked@example.com>", "550", "5.1.1 No such user")
    c:expect("DATA", "503", "5.5.1 No valid recipients given")
    c:quit()
end

-- STARTTLS forgets the EHLO (AUTH before the second EHLO is a sequence
-- error, spec 6.1 #6), then PLAIN is offered and works
tests[#tests + 1] = function ()
    local c = h.conversation(h.connect(port))
    assert(c:reply() == "220")
    c:expect("EHLO tls-client", "250")
    c:expect("STARTTLS", "220", "2.7.0 Go ahead")
    local enc = c.sock:encrypt(client_ctx)
    enc:client_handshake()
    c:expect("AUTH PLAIN AHRlc3R1c2VyAHRlc3RwYXNz", "503", "5.5.1 Bad sequence of commands")
    c:expect("STARTTLS", "500", "5.5.2 Syntax error, command unrecognized")
    local lines = c:expect("EHLO tls-client", "250")
    assert(lines[#lines] == "AUTH PLAIN LOGIN CRAM-MD5", lines[#lines])
    c:expect("AUTH PLAIN", "334")
    c:expect("not base64!", "501", "5.5.2 Invalid PLAIN authentication string")
    c:expect("AUTH LOGIN dGVzdHVzZXI=", "334", "UGFzc3dvcmQ6")
    c:expect("c3NhcHRzZXQ=", "535", "5.7.8 Authentication credentials invalid")
    c:expect("AUTH PLAIN AHRlc3R1c2VyAHRlc3RwYXNz", "235", "2.7.0 Authentication successful")
    c:expect("AUTH PLAIN AHRlc3R1c2VyAHRlc3RwYXNz", "503", "5.5.1 Bad sequence of commands")
    c:expect("MAIL FROM:<tls@example.com>", "250")
    c:expect("RCPT TO:<r4@example.com>", "250")
    send_message(c, "over tls", "250", "2.6.0 Message queued as 3")
    c:quit()
end

-- default relay policy on an edge that trusts nobody (POLICY.md)
tests[#tests + 1] = function ()
    local c = h.conversation(h.connect(relay_port))
    assert(c:reply() == "220")
    c:expect("EHLO outsider", "250")
    c:expect("MAIL FROM:<spammer@example.net>", "250")
    c:expect("RCPT TO:<victim@elsewhere.example>", "554", "5.7.1 Relay access denied")
    c:expect("RCPT TO:<user@Local.Example>", "250")
    send_message(c, "for a local user", "250", "2.6.0 Message queued as 4")
    -- after AUTH any recipient is fine
    cram(c)
    c:expect("MAIL FROM:<member@example.net>", "250")
    c:expect("RCPT TO:<friend@elsewhere.example>", "250")
    send_message(c, "relayed", "250", "2.6.0 Message queued as 5")
    c:quit()
end

local finished = false
ratchet.new(function ()
    local server_ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    server_ctx:load_certs(CERT_FILE)
    client_ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    client_ctx:load_cas(nil, CERT_FILE)
    local auth = slimta.edge.smtp.auth.new()
    auth:add_mechanism("PLAIN", secret)
    auth:add_mechanism("LOGIN", secret)
    auth:add_mechanism("CRAM-MD5", secret, "testhost")

    local bus_server, bus_client = slimta.bus.new_local()
    local edge = slimta.edge.smtp.new(h.listen(port), bus_client)
    edge:enable_tls(server_ctx)
    edge:enable_authentication(auth)
    edge:set_max_message_size(400)
    edge:set_timeout(5)
    edge:set_validator("starttls", function (session, reply)
        if session.ehlo_as == "no-tls" then
            reply.code, reply.message, reply.enhanced_status_code = 454, "TLS not available now", "4.7.0"
        end
    end)
    edge:set_validator("MAIL", function (session, reply, address)
        if address == "numeric@example.com" then
            reply.code, reply.message = 550, "Sender refused"
        end
    end)
    -- a RCPT validator replaces the relay policy; loopback sends anyway
    edge:set_validator("RCPT", function (session, reply, address)
        if address == "blocked@example.com" then
            reply.code, reply.message, reply.enhanced_status_code = "550", "No such user", "5.1.1"
        end
    end)

    local relay_edge = slimta.edge.smtp.new(h.listen(relay_port), bus_client)
    relay_edge:set_trusted_networks({})
    relay_edge:set_local_domains({"local.example"})
    relay_edge:enable_authentication(auth)

    local acceptors = {}
    for i, e in ipairs({edge, relay_edge}) do
        acceptors[i] = ratchet.thread.attach(function ()
            while true do
                ratchet.thread.attach(e:accept())
            end
        end)
    end
    local consumer = ratchet.thread.attach(function ()
        local n = 0
        while true do
            local t, msgs = bus_server:recv_request()
            n = n + 1
            received[n] = msgs[1]
            t:send_response({slimta.message.response.new("250", "Message queued as " .. n, tostring(n))})
        end
    end)
    for _, test in ipairs(tests) do
        ratchet.thread.wait_all({ratchet.thread.attach(test)})
    end
    for _, t in ipairs(acceptors) do ratchet.thread.kill(t) end
    ratchet.thread.kill(consumer)
    edge:close()
    relay_edge:close()
    finished = true
end):loop()
assert(finished)

assert(#received == 5, #received)
-- 1: null sender, no From added
assert(received[1].envelope.sender == "")
assert(#received[1].contents.headers.from == 0)
assert(tostring(received[1].contents) == "Subject: null sender\r\n\r\nhi", tostring(received[1].contents))
assert(received[1].client.protocol == "ESMTP")
-- 2: HELO keeps SMTP
assert(received[2].client.protocol == "SMTP", received[2].client.protocol)
assert(received[2].client.ehlo == "oldclient")
-- 3: STARTTLS + AUTH
assert(received[3].client.protocol == "ESMTPSA", received[3].client.protocol)
assert(received[3].client.security == "TLS")
assert(received[3].client.auth_info == "testuser")
-- 4, 5: relay edge
assert(#received[4].envelope.recipients == 1 and received[4].envelope.recipients[1] == "user@Local.Example")
assert(received[4].client.protocol == "ESMTP")
assert(received[5].client.protocol == "ESMTPA" and received[5].client.auth_info == "testuser")
