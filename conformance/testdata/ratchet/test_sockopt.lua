require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
-- Linux doubles SO_SNDBUF; newer kernels clamp higher (spec 3.3), so the
-- harness may say what this kernel gives.
SNDBUF = tonumber(os.getenv("RATCHET_TEST_SNDBUF")) or 2048

counter = 0

function ctx1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    assert(socket:getsockopt("SO_ACCEPTCONN") == true)
    assert(socket:getsockopt("SO_REUSEADDR") == true)
    socket:setsockopt("SO_REUSEADDR", false)
    assert(socket:getsockopt("SO_REUSEADDR") == false)
    socket:setsockopt("SO_REUSEADDR", true)
    counter = counter + 1
end

function ctx2()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    assert(socket:getsockopt("SO_ACCEPTCONN") == false)
    socket:setsockopt("SO_SNDBUF", 1024)
    assert(socket:getsockopt("SO_SNDBUF") == SNDBUF)
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx1)
    ratchet.thread.attach(ctx2)
end)
kernel:loop()
assert(counter == 2)
