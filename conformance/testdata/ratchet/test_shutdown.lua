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
    client:shutdown("write")
    assert(client:recv() == "ooga")
    counter = counter + 1
end

function ctx2()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    assert(socket:recv() == "")
    socket:send("ooga")
    counter = counter + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 2)
