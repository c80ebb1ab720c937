-- Timeouts, EOF handling and shutdown outcomes.
require "ratchet"

local S = ratchet.socket
local SSL = ratchet.ssl

kernel = ratchet.new(function ()
    local server = SSL.new()
    server:load_certs(CERT)
    local client = SSL.new()

    -- a silent peer: the handshake times out per wait
    local a, b = S.new_pair()
    a:set_timeout(0.05)
    local enc = a:encrypt(client)
    local ok, err = pcall(enc.client_handshake, enc)
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT"), tostring(err))
    assert(err.description == "Timed out on client_handshake.")
    a:close(); b:close()

    -- read before any handshake
    a, b = S.new_pair()
    enc = a:encrypt(client)
    ok, err = pcall(enc.read, enc)
    assert(not ok and ratchet.error.is(err, "SSLERROR"))
    a:close(); b:close()

    -- transport closed without close_notify: SSLEOF; read timeout
    a, b = S.new_pair()
    local t = ratchet.thread.attach(function ()
        local e = b:encrypt(server)
        e:server_handshake()
        b:send("x")
        ratchet.thread.timer(0.1)
        b:close()
    end)
    enc = a:encrypt(client)
    enc:client_handshake()
    assert(a:recv() == "x")
    a:set_timeout(0.02)
    ok, err = pcall(a.recv, a)
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT") and err.description == "Timed out on read.", tostring(err))
    a:set_timeout(-1)
    ok, err = pcall(enc.read, enc)
    assert(not ok and ratchet.error.is(err, "SSLEOF"), tostring(err))
    assert(err.description == "Unexpected EOF received")
    -- the transport is gone: shutdown reports false
    assert(enc:shutdown() == false)
    ratchet.thread.wait_all({t})
    a:close()

    -- close_notify reads as ""
    a, b = S.new_pair()
    t = ratchet.thread.attach(function ()
        local e = b:encrypt(server)
        e:server_handshake()
        assert(e:shutdown() == true)
        b:close()
    end)
    enc = a:encrypt(client)
    enc:client_handshake()
    assert(enc:read() == "")
    assert(a:recv() == "")
    assert(enc:shutdown() == true)
    ratchet.thread.wait_all({t})
    a:close()

    -- the peer rejects our certificate-less handshake partway
    a, b = S.new_pair()
    b:send("garbage that is not TLS at all\r\n")
    enc = a:encrypt(client)
    ok, err = pcall(enc.client_handshake, enc)
    assert(not ok and ratchet.error.is(err, "SSLERROR"), tostring(err))
    a:close(); b:close()
end)
kernel:loop()
