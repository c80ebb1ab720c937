-- spec 2.5: TLS contexts and sessions.
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
CERT = os.getenv("RATCHET_TEST_CERT") or "cert.pem"

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(tostring(err):match(pattern), tostring(err))
    return err
end

-- Method constants: six distinct values accepted by new().
local names = {"SSLv3", "SSLv3_server", "SSLv3_client", "TLSv1", "TLSv1_server", "TLSv1_client"}
local seen = {}
for _, name in ipairs(names) do
    local m = ratchet.ssl[name]
    assert(m ~= nil, name)
    assert(not seen[m], "distinct: " .. name)
    seen[m] = true
    assert(ratchet.ssl.new(m))
end
assert(ratchet.ssl.new())
assert(ratchet.ssl.new(nil, "unused password"))
expect_error("bad argument", ratchet.ssl.new, "SSLv3")
expect_error("bad argument", ratchet.ssl.new, 42)

local ctx = ratchet.ssl.new(ratchet.ssl.TLSv1)
assert(select("#", ctx:load_certs(CERT)) == 0)
assert(select("#", ctx:load_certs(CERT, CERT)) == 0)
expect_error("Could not read certificate chain file: missing%.pem", ctx.load_certs, ctx, "missing.pem")
expect_error("Could not read key file: missing%.pem", ctx.load_certs, ctx, CERT, "missing.pem")
expect_error("Path to trusted CAs required%.", ctx.load_cas, ctx)
expect_error("bad argument #2", ctx.load_cas, ctx)
expect_error("Could not read CA file: missing%.pem", ctx.load_cas, ctx, nil, "missing.pem")
ctx:load_cas(nil, CERT)
ctx:load_cas(nil, CERT, 3)
for _, mode in ipairs({"none", "peer", "fail", "once"}) do
    ctx:set_verify_mode(mode)
end
ctx:set_verify_mode()
expect_error("", ctx.set_verify_mode, ctx, "sometimes")
ctx:load_randomness()
ctx:generate_tmp_rsa()
ctx:generate_tmp_rsa(512, 65537)

local function listener()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(rec.addr)
    s:listen()
    return s, rec
end

-- A session over a connection: aliases, verify results, engine, EOF and
-- shutdown return values, timeouts.
done = 0
kernel = ratchet.new(function ()
    local l, rec = listener()
    local sctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    sctx:load_certs(CERT)

    ratchet.thread.attach(function ()
        local c = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        c:connect(rec.addr)
        local cctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
        cctx:load_cas(nil, CERT)
        local enc = c:encrypt(cctx)
        assert(c:get_encryption() == enc)
        assert(enc:get_engine() == c)
        assert(select("#", enc:connect()) == 0)
        assert(type(enc:get_cipher()) == "string")
        assert(enc:get_rfc2253() == "CN=localhost")
        assert(select("#", enc:verify_certificate()) == 2)
        local a, b, h = enc:verify_certificate("localhost")
        assert(a == true and b == true and h == true)
        a, b, h = enc:verify_certificate("otherhost")
        assert(a == true and b == true and h == false)
        assert(select("#", enc:write("ping")) == 0)
        assert(enc:read() == "pong")
        assert(c:recv() == "", "close_notify reads as end of stream")
        assert(enc:shutdown() == true)
        c:close()
        done = done + 1
    end)

    local conn = l:accept()
    assert(conn:get_encryption() == nil)
    local enc = conn:encrypt(sctx)
    assert(select("#", enc:accept()) == 0)
    assert(enc:get_rfc2253() == nil, "the client sent no certificate")
    assert(enc:verify_certificate() == false)
    assert(select("#", enc:verify_certificate()) == 1)
    assert(enc:read(2) == "pi")
    assert(enc:read() == "ng")
    conn:send("pong")
    assert(enc:shutdown() == true)
    conn:close()
    l:close()
    done = done + 1
end)
kernel:loop()
assert(done == 2)

-- An untrusted certificate: "none" records it, "peer" fails the handshake.
done = 0
kernel = ratchet.new(function ()
    local l, rec = listener()
    local sctx = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    sctx:load_certs(CERT)

    ratchet.thread.attach(function ()
        for _, mode in ipairs({"none", "peer"}) do
            local c = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
            c:connect(rec.addr)
            local cctx = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
            if mode == "peer" then cctx:set_verify_mode("peer") end
            local enc = c:encrypt(cctx)
            local ok, err = pcall(enc.client_handshake, enc)
            if mode == "none" then
                assert(ok, tostring(err))
                local a, b = enc:verify_certificate()
                assert(a == true and b == false)
                enc:shutdown()
            else
                assert(not ok)
                assert(ratchet.error.is(err, "SSLERROR"), tostring(err))
                assert(err.description:match("^SSL error: "), err.description)
                assert(err["function"] == "ratchet.ssl.session.client_handshake()", tostring(err["function"]))
            end
            c:close()
        end
        done = done + 1
    end)

    for i = 1, 2 do
        local conn = l:accept()
        local enc = conn:encrypt(sctx)
        local ok, err = pcall(enc.server_handshake, enc)
        if i == 1 then
            assert(ok, tostring(err))
            assert(enc:read() == "")
            enc:shutdown()
        end
        conn:close()
    end
    l:close()
    done = done + 1
end)
kernel:loop()
assert(done == 2)

-- Transport EOF in the middle: SSLEOF; handshake timeout: ETIMEDOUT.
done = 0
kernel = ratchet.new(function ()
    local l, rec = listener()
    local sctx = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    sctx:load_certs(CERT)

    ratchet.thread.attach(function ()
        local c = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        c:connect(rec.addr)
        local cctx = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
        local enc = c:encrypt(cctx)
        enc:client_handshake()
        enc:write("x")
        c:close()   -- no close_notify

        local c2 = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        c2:connect(rec.addr)
        assert(c2:recv() == "")
        done = done + 1
    end)

    local conn = l:accept()
    local enc = conn:encrypt(sctx)
    enc:server_handshake()
    assert(enc:read() == "x")
    local ok, err = pcall(enc.read, enc)
    assert(not ok and ratchet.error.is(err, "SSLEOF"), tostring(err))
    assert(err.description == "Unexpected EOF received")
    assert(err["function"] == "ratchet.ssl.session.read()", tostring(err["function"]))
    conn:close()

    local conn2 = l:accept()
    conn2:set_timeout(0.05)
    local enc2 = conn2:encrypt(sctx)
    ok, err = pcall(enc2.server_handshake, enc2)
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT"), tostring(err))
    assert(err.description == "Timed out on server_handshake.", err.description)
    conn2:close()
    done = done + 1
end)
kernel:loop()
assert(done == 2)
