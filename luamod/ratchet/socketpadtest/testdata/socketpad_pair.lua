-- socketpad over a socketpair between two threads.
require "ratchet"
require "ratchet.socketpad"

local done = 0
ratchet.new(function ()
    local a, b = ratchet.socket.new_pair()
    ratchet.thread.attach(function ()
        local pad = ratchet.socketpad.new(b)
        local header = pad:recv("\n")
        local len = tonumber(header:match("^(%d+)\n$"))
        local body = pad:recv(len)
        assert(#body == len and body == string.rep("z", len))
        pad:send("got " .. len .. "\n")
        done = done + 1
    end)
    local pad = ratchet.socketpad.new(a)
    pad:send_behavior("chunk_size", 4096)
    local n = 300000
    pad:send(n .. "\n", true)
    pad:send(string.rep("z", n))
    assert(pad:recv("\n") == "got " .. n .. "\n")
    done = done + 1
end):loop()
assert(done == 2)
