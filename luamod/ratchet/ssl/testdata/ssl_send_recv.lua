-- test_ssl_send_recv: plaintext first, then STARTTLS-style encryption of
-- the live sockets with SSLv3 contexts; CERT holds certificate and key.
require "ratchet"

local counter = 0

function ctx1()
    local ssl1 = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    ssl1:load_certs(CERT)

    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(ctx2, rec)

    local client = socket:accept()
    assert(client:recv() == "not encrypted")
    client:send("yet")

    local enc = client:encrypt(ssl1)
    assert(client:get_encryption() == enc)
    assert(enc:get_engine() == client)
    enc:server_handshake()
    assert(enc:get_cipher() == "AES256-SHA", enc:get_cipher())

    assert(client:recv(5) == "hello")
    client:send("world")
    client:send("foo")
    assert(client:recv() == "bar")

    assert(enc:shutdown())
    client:close()
    counter = counter + 1
end

function ctx2(rec)
    local ssl2 = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
    ssl2:load_cas(nil, CERT)

    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    socket:send("not encrypted")
    assert(socket:recv() == "yet")

    local enc = socket:encrypt(ssl2)
    enc:client_handshake()
    assert(enc:get_cipher() == "AES256-SHA", enc:get_cipher())
    local got_cert, verified, host_matched = enc:verify_certificate(rec.host)
    assert(got_cert and verified and host_matched)
    assert(enc:get_rfc2253() == "CN=localhost", enc:get_rfc2253())

    socket:send("hello")
    assert(socket:recv(5) == "world")
    assert(socket:recv() == "foo")
    socket:send("bar")

    assert(enc:shutdown())
    socket:close()
    counter = counter + 2
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 3)
