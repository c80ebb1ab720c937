require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
CERT = os.getenv("RATCHET_TEST_CERT") or "cert.pem"

counter = 0

function ctx1(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local ssl1 = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    ssl1:load_certs(CERT)

    ratchet.thread.attach(ctx2, host, port)

    local client = socket:accept()

    assert(client:recv() == "not encrypted")
    client:send("yet")

    local enc = client:encrypt(ssl1)
    enc:server_handshake()

    assert(enc:get_cipher() == "AES256-SHA")

    assert(client:recv(5) == "hello")
    client:send("world")
    client:send("foo")
    assert(client:recv() == "bar")

    enc:shutdown()
    client:close()
    counter = counter + 1
end

function ctx2(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local ssl2 = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
    ssl2:load_cas(nil, CERT)

    socket:send("not encrypted")
    assert(socket:recv() == "yet")

    local enc = socket:encrypt(ssl2)
    enc:client_handshake()

    assert(enc:get_cipher() == "AES256-SHA")
    local got_cert, verified, host_matched = enc:verify_certificate(rec.host)
    assert(got_cert)
    assert(verified)
    assert(host_matched)
    assert(enc:get_rfc2253() == "CN=localhost")

    socket:send("hello")
    assert(socket:recv(5) == "world")
    assert(socket:recv() == "foo")
    socket:send("bar")

    enc:shutdown()
    socket:close()
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx1, "localhost", PORT)
    counter = counter + 1
end)
kernel:loop()
assert(counter == 3)
