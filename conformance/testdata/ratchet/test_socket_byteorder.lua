require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

counter = 0

function ctx1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(ctx2)

    local client = socket:accept()
    local data = client:recv()
    assert(#data == 4)
    assert(ratchet.socket.ntoh(data) == 1333337)
    client:send(ratchet.socket.hton(73))
    counter = counter + 1
end

function ctx2()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    socket:send(ratchet.socket.hton(1333337))
    assert(ratchet.socket.ntoh(socket:recv()) == 73)
    counter = counter + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 2)
