require "ratchet"

SOCKPATH = os.getenv("RATCHET_TEST_UNIX_SOCK") or "/tmp/ratchet-tests.sock"

counter = 0

function ctx1()
    local rec = ratchet.socket.prepare_unix(SOCKPATH)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(ctx2)

    local client = socket:accept()
    ratchet.thread.attach(ctx3, client)
    counter = counter + 1
end

function ctx2()
    local rec = ratchet.socket.prepare_unix(SOCKPATH)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    socket:send("hello")
    assert(socket:recv(5) == "world")
    assert(socket:recv() == "foo")
    socket:send("bar")
    counter = counter + 1
end

function ctx3(socket)
    assert(socket:recv(5) == "hello")
    socket:send("world")
    socket:send("foo")
    assert(socket:recv() == "bar")
    counter = counter + 1
end

-- Twice: the second bind must replace the stale socket file of the first.
for i = 1, 2 do
    kernel = ratchet.new(ctx1)
    kernel:loop()
end
assert(counter == 6)
