require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

function ctx1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    socket:set_timeout(0.0)
    local success, err = pcall(socket.accept, socket)
    assert(not success)
    assert(ratchet.error.is(err, "ETIMEDOUT"))
end

kernel = ratchet.new(ctx1)
kernel:loop()
