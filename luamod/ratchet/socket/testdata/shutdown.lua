-- test_shutdown: a write half-close reads as end of stream on the peer,
-- which can still send.
require "ratchet"

local count = 0
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(function ()
        local c = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        c:connect(rec.addr)
        assert(c:recv() == "")
        c:send("ooga")
        c:close()
        count = count + 1
    end)
    local client = socket:accept()
    assert(client:shutdown("write") == true)
    assert(client:recv() == "ooga")
    client:close()
    count = count + 1
end)
kernel:loop()
assert(count == 2)
