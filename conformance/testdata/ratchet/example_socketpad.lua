-- spec 2.10 example (fresh): one protocol line, a 128-byte body, a reply.
require "ratchet"
require "ratchet.socketpad"

done = 0

kernel = ratchet.new(function ()
    local client, peer = ratchet.socket.new_pair()
    ratchet.thread.attach(function ()
        peer:send("HELLO\r\n" .. string.rep("x", 100))
        peer:send(string.rep("y", 28) .. "extra")
        assert(peer:recv() == "OK\r\n")
        peer:close()
        done = done + 1
    end)

    local pad = ratchet.socketpad.new(client)
    local line = pad:recv("\r\n")      -- one protocol line
    local body, short = pad:recv(128)  -- exactly 128 bytes unless the peer quit
    pad:send("OK\r\n")

    assert(line == "HELLO\r\n")
    assert(body == string.rep("x", 100) .. string.rep("y", 28))
    assert(short == nil)
    assert(pad:recv_remaining() == "extra")
    local rest, incomplete = pad:recv(10)
    assert(rest == "" and incomplete == true)
    done = done + 1
end)
kernel:loop()
assert(done == 2)
