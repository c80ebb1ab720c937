-- spec 4.2 test_edge_smtp_auth: PLAIN/LOGIN only after STARTTLS, CRAM-MD5
-- in clear text; right and wrong credentials. Each sub-test attaches a
-- client thread, then the server thread accepts and calls the handler
-- directly.
require "ratchet"
require "slimta.bus"
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"
require "slimta.hmac"
require "slimta.base64"
local smtp_client = require "ratchet.smtp.client"
local h = dofile(TESTDATA .. "/helpers.lua")

local port = free_port()

local function secret(user)
    assert(user == "testuser", "unexpected user " .. tostring(user))
    return "testpass"
end

local function hex(s)
    return (s:gsub(".", function (c) return ("%02x"):format(c:byte()) end))
end

local client_ctx

local function start(tls)
    local client = smtp_client.new(h.connect(port))
    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    if tls then
        assert(client.extensions:has("AUTH") == "CRAM-MD5", tostring(client.extensions:has("AUTH")))
        assert(client:starttls().code == "220")
        local enc = client.io.socket:encrypt(client_ctx)
        enc:client_handshake()
        local got, verified = enc:verify_certificate()
        assert(got and verified)
        assert(client:ehlo("test").code == "250")
        assert(client.extensions:has("AUTH") == "PLAIN LOGIN CRAM-MD5", tostring(client.extensions:has("AUTH")))
    else
        assert(client.extensions:has("AUTH") == "CRAM-MD5", tostring(client.extensions:has("AUTH")))
    end
    return client
end

local function code(reply)
    return reply.code
end

local subtests = {
    function ()  -- PLAIN before TLS is not offered
        local c = start(false)
        assert(code(c:custom_command("AUTH", "PLAIN")) == "504")
        c:quit()
    end,
    function ()  -- PLAIN two-step and inline after STARTTLS
        local c = start(true)
        assert(code(c:custom_command("AUTH", "PLAIN")) == "334")
        assert(code(c:custom_command("AHRlc3R1c2VyAHRlc3RwYXNz")) == "235")
        c:quit()
        c = start(true)
        assert(code(c:custom_command("AUTH", "PLAIN AHRlc3R1c2VyAHRlc3RwYXNz")) == "235")
        c:quit()
    end,
    function ()  -- PLAIN with a wrong password
        local c = start(true)
        assert(code(c:custom_command("AUTH", "PLAIN")) == "334")
        assert(code(c:custom_command("AHRlc3R1c2VyAHNzYXB0c2V0")) == "535")
        assert(code(c:custom_command("AUTH", "PLAIN AHRlc3R1c2VyAHNzYXB0c2V0")) == "535")
        c:quit()
    end,
    function ()  -- LOGIN before TLS
        local c = start(false)
        assert(code(c:custom_command("AUTH", "LOGIN")) == "504")
        c:quit()
    end,
    function ()  -- LOGIN after TLS
        local c = start(true)
        local r = c:custom_command("AUTH", "LOGIN")
        assert(r.code == "334" and r.message == "VXNlcm5hbWU6", r.message)
        r = c:custom_command("dGVzdHVzZXI=")
        assert(r.code == "334" and r.message == "UGFzc3dvcmQ6", r.message)
        assert(code(c:custom_command("dGVzdHBhc3M=")) == "235")
        c:quit()
    end,
    function ()  -- LOGIN with a wrong password
        local c = start(true)
        assert(code(c:custom_command("AUTH", "LOGIN")) == "334")
        assert(code(c:custom_command("dGVzdHVzZXI=")) == "334")
        local r = c:custom_command("c3NhcHRzZXQ=")
        assert(r.code == "535", r.code)
        assert(r.message == "5.7.8 Authentication credentials invalid", r.message)
        c:quit()
    end,
    function ()  -- CRAM-MD5 in clear text
        local c = start(false)
        local r = c:custom_command("AUTH", "CRAM-MD5")
        assert(r.code == "334")
        local challenge = slimta.base64.decode(r.message)
        assert(challenge:match("^<.+@testhost>$"), challenge)
        local digest = hex(slimta.hmac.encode("md5", challenge, "testpass"))
        assert(code(c:custom_command(slimta.base64.encode("testuser " .. digest))) == "235")
        c:quit()
    end,
    function ()  -- CRAM-MD5 with the wrong key
        local c = start(false)
        local r = c:custom_command("AUTH", "CRAM-MD5")
        local challenge = slimta.base64.decode(r.message)
        local digest = hex(slimta.hmac.encode("md5", challenge, "ssaptset"))
        assert(code(c:custom_command(slimta.base64.encode("testuser " .. digest))) == "535")
        c:quit()
    end,
}

local function connections_for(i)
    return i == 2 and 2 or 1
end

local done = 0
ratchet.new(function ()
    local server_ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    server_ctx:load_certs(CERT_FILE)
    client_ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    client_ctx:load_cas(nil, CERT_FILE)

    local auth = slimta.edge.smtp.auth.new()
    auth:add_mechanism("PLAIN", secret)
    auth:add_mechanism("LOGIN", secret)
    auth:add_mechanism("CRAM-MD5", secret, "testhost")

    local edge = slimta.edge.smtp.new(h.listen(port), slimta.bus.new_local())
    edge:enable_tls(server_ctx)
    edge:set_timeout(2.0)
    edge:enable_authentication(auth)

    for i, test in ipairs(subtests) do
        ratchet.thread.attach(function ()
            test()
            done = done + 1
        end)
        for _ = 1, connections_for(i) do
            local handler = edge:accept()
            handler()
        end
    end
    edge:close()
end, function (err, thread)
    error(debug.traceback(thread, tostring(err)), 0)
end):loop()
assert(done == #subtests, done)
