require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

counter = 0

function ctx1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(client1)
    ratchet.thread.attach(client2)

    local c1 = socket:accept()
    local c2 = socket:accept()

    local data1, from1 = assert(ratchet.socket.multi_recv{c1, c2})
    assert((data1 == "data1" and from1 == c1) or (data1 == "data2" and from1 == c2_which))
    local data2, from2 = assert(ratchet.socket.multi_recv{c1, c2})
    assert((data2 == "data2" and from2 == c2) or (data2 == "data1" and from2 == c1))
    assert(from1 ~= from2)

    c1:send("sync")
    c2:send("sync")

    local data3, from3 = assert(ratchet.socket.multi_recv{c1, c2})
    assert(data3 == "data3" and from3 == c1)

    c1:send("sync")
    c2:send("sync")

    local closed1 = assert(ratchet.socket.multi_recv{c1, c2})
    assert(closed1 == "")
    local closed2 = assert(ratchet.socket.multi_recv{c1, c2})
    assert(closed2 == "")
    counter = counter + 1
end

function client1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    socket:send("data1")
    assert(socket:recv() == "sync")
    socket:send("data3")
    assert(socket:recv() == "sync")
    socket:close()
    counter = counter + 1
end

function client2()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    socket:send("data2")
    assert(socket:recv(4) == "sync")
    assert(socket:recv(4) == "sync")
    socket:close()
    counter = counter + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 3)
