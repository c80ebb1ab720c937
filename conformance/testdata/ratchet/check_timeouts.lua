-- spec 2.3/2.4/2.5: ETIMEDOUT descriptions and function names of every
-- timed-out wait.
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
CERT = os.getenv("RATCHET_TEST_CERT") or "cert.pem"

local function timed_out(what, fname, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, what .. " did not time out")
    assert(ratchet.error.is(err, "ETIMEDOUT"), what .. ": " .. tostring(err))
    assert(err.description == "Timed out on " .. what .. ".", err.description)
    assert(err["function"] == fname, what .. ": " .. tostring(err["function"]))
end

done = false
kernel = ratchet.new(function ()
    -- send: the peer never reads.
    local a, b = ratchet.socket.new_pair()
    a:set_timeout(0.05)
    local rest = a:send(string.rep("x", 4 * 1024 * 1024))
    assert(type(rest) == "string" and #rest > 0)
    timed_out("send", "ratchet.socket.send()", a.send, a, rest)
    timed_out("recv", "ratchet.socket.recv()", a.recv, a)

    -- connect: a full listen backlog drops the SYNs.
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
    local l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    l:setsockopt("SO_REUSEADDR", true)
    l:bind(rec.addr)
    l:listen(0)
    local clients = {}
    local ok, err
    for i = 1, 20 do
        local c = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        c:set_timeout(0.1)
        table.insert(clients, c)
        ok, err = pcall(c.connect, c, rec.addr)
        if not ok then break end
    end
    assert(not ok, "the backlog never filled")
    assert(ratchet.error.is(err, "ETIMEDOUT"), tostring(err))
    assert(err.description == "Timed out on connect.", err.description)
    assert(err["function"] == "ratchet.socket.connect()", tostring(err["function"]))
    for _, c in ipairs(clients) do c:close() end
    l:close()

    -- TLS: handshake, read and write.
    local sctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    sctx:load_certs(CERT)
    local cctx = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    local s1, s2 = ratchet.socket.new_pair()
    s1:set_timeout(0.05)
    local enc1 = s1:encrypt(cctx)
    timed_out("client_handshake", "ratchet.ssl.session.client_handshake()", enc1.client_handshake, enc1)

    s1, s2 = ratchet.socket.new_pair()
    local peer = ratchet.thread.attach(function ()
        local enc2 = s2:encrypt(sctx)
        enc2:server_handshake()
        ratchet.thread.pause()
    end)
    enc1 = s1:encrypt(cctx)
    enc1:client_handshake()
    s1:set_timeout(0.05)
    timed_out("read", "ratchet.ssl.session.read()", enc1.read, enc1)
    timed_out("read", "ratchet.ssl.session.read()", s1.recv, s1)
    local ok2, werr
    for i = 1, 100 do
        ok2, werr = pcall(enc1.write, enc1, string.rep("y", 65536))
        if not ok2 then break end
    end
    assert(not ok2, "write never blocked")
    assert(ratchet.error.is(werr, "ETIMEDOUT") and werr.description == "Timed out on write.", tostring(werr))
    assert(werr["function"] == "ratchet.ssl.session.write()", tostring(werr["function"]))
    ratchet.thread.kill(peer)
    done = true
end)
kernel:loop()
assert(done)
