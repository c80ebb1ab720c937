-- test_send_recv: hello/world/foo/bar between an accepted socket handed
-- to a third thread and a client thread.
require "ratchet"

local count = 0

function ctx1()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(ctx2)

    local client = socket:accept()
    ratchet.thread.attach(ctx3, client)
    count = count + 1
end

function ctx2()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    socket:send("hello")
    assert(socket:recv(5) == "world")
    assert(socket:recv() == "foo")
    socket:send("bar")
    socket:close()
    count = count + 1
end

function ctx3(socket)
    assert(socket:recv(5) == "hello")
    socket:send("world")
    socket:send("foo")
    assert(socket:recv() == "bar")
    assert(socket:recv() == "")
    socket:close()
    count = count + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(count == 3)
