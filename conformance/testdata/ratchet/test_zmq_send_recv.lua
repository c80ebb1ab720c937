require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

counter = 0

function ctx1()
    local rec = ratchet.zmqsocket.prepare_uri("req:tcp://127.0.0.1:" .. PORT)
    local socket = ratchet.zmqsocket.new(rec.type)
    socket:bind(rec.endpoint)

    ratchet.thread.attach(ctx2)

    socket:send("hello")
    assert(socket:recv_all() == "world")
    counter = counter + 1
end

function ctx2()
    local rec = ratchet.zmqsocket.prepare_uri("rep:tcp://127.0.0.1:" .. PORT)
    local socket = ratchet.zmqsocket.new(rec.type)
    socket:connect(rec.endpoint)

    assert(socket:recv() == "hello")
    socket:send("wo", true)
    socket:send("rld")
    counter = counter + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 2)
