-- Closing a socket wakes a thread blocked on it (EBADF), and a killed
-- reader leaves the socket usable for the next one.
require "ratchet"

local S = ratchet.socket
local count = 0
kernel = ratchet.new(function ()
    local a, b = S.new_pair()
    local reader = ratchet.thread.attach(function ()
        local ok, err = pcall(a.recv, a)
        assert(not ok and ratchet.error.is(err, "EBADF"), tostring(err))
        count = count + 1
    end)
    ratchet.thread.timer(0.01)
    a:close()
    ratchet.thread.wait_all({reader})

    local c, d = S.new_pair()
    local victim = ratchet.thread.attach(function ()
        c:recv()
        error("not reached")
    end)
    ratchet.thread.timer(0.01)
    ratchet.thread.kill(victim)
    d:send("after kill")
    c:set_timeout(1)
    assert(c:recv() == "after kill")
    -- timeouts on recv and send
    c:set_timeout(0.02)
    local ok, err = pcall(c.recv, c)
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT") and err.description == "Timed out on recv.")
    assert(err["function"] == "ratchet.socket.recv()")
    -- timeout 0 still reads data that is already there, also after a
    -- recv that had to wait
    local e, f = S.new_pair()
    ratchet.thread.attach(function () ratchet.thread.timer(0.01); f:send("x") end)
    assert(e:recv() == "x")
    f:send("y")
    e:set_timeout(0)
    assert(e:recv() == "y")
    count = count + 1
end)
kernel:loop()
assert(count == 2)
assert(kernel:get_num_threads() == 0)
