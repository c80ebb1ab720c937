require "ratchet"
require "ratchet.socketpad"

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

    -- The first send was only buffered, so both lines arrive together.
    assert(client:recv() == "line one\r\nline two\r\n")
    client:send("break")

    local pad = ratchet.socketpad.new(client)
    assert(pad:recv(3) == "abc")
    assert(#pad:peek() == 3)
    assert(pad:recv(3) == "123")
    assert(#pad:peek() == 0)
    client:send("break")

    assert(pad:recv("\r\n") == "line 1\r\n")
    assert(#pad:peek() == 8)
    assert(pad:recv("\r\n") == "line 2\r\n")
    assert(#pad:peek() == 0)
    client:send("break")

    local data, incomplete = pad:recv("\r\n")
    assert(data == "half")
    assert(incomplete)
    counter = counter + 1
end

function ctx2()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local pad = ratchet.socketpad.new(socket)
    pad:send("line one\r\n", true)
    pad:send("line two\r\n")

    assert(socket:recv() == "break")
    socket:send("abc123")

    assert(socket:recv() == "break")
    socket:send("line 1\r\nline 2\r\n")

    assert(socket:recv() == "break")
    socket:send("half")
    socket:close()
    counter = counter + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 2)
