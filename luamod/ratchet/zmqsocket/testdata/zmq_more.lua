-- More ratchet.zmqsocket behaviour: frames, timeouts, block_on, errors.
require "ratchet"

local u = ratchet.zmqsocket.prepare_uri("no-colon")
assert(u.type == nil and u.endpoint == "no-colon")
u = ratchet.zmqsocket.prepare_uri("pair:inproc://a:b")
assert(u.type == "PAIR" and u.endpoint == "inproc://a:b")
assert(not pcall(ratchet.zmqsocket.new, "BOGUS"))

local steps = {}
ratchet.new(function ()
    local rep = ratchet.zmqsocket.new("REP")
    rep:bind("tcp://127.0.0.1:0")
    local ep = rep:get_last_endpoint()
    assert(rep:get_timeout() == -1)
    assert(rep:get_fd() == -1)

    -- recv times out (returns nothing) while nobody asks.
    rep:set_timeout(0.05)
    assert(rep:get_timeout() == 0.05)
    assert(select("#", rep:recv()) == 0)
    assert(rep:is_readable() == false)
    rep:set_timeout(-1)

    ratchet.thread.attach(function ()
        local req = ratchet.zmqsocket.new("REQ")
        req:connect(ep)
        req:send("a", true)
        req:send("b", true)
        req:send("c")
        -- The reply arrives part by part.
        local p1, m1 = req:recv()
        assert(p1 == "x" and m1 == true)
        assert(req:is_rcvmore() == true)
        local p2, m2 = req:recv()
        assert(p2 == "yz" and m2 == false)
        assert(req:is_rcvmore() == false)
        steps.client = true
        req:close()
    end)

    -- block_on wakes for the request.
    assert(ratchet.thread.block_on({rep}) == rep)
    assert(rep:is_readable())
    local parts = {}
    repeat
        local data, more = rep:recv()
        parts[#parts + 1] = data
    until not more
    assert(table.concat(parts, ",") == "a,b,c")
    rep:send("x", true)
    rep:send("yz")
    steps.server = true

    -- close twice, use after close.
    ratchet.thread.timer(0.05)
    assert(rep:close() == true)
    assert(rep:close() == nil)
    local ok, err = pcall(rep.recv, rep)
    assert(not ok and err.code == "EBADF", tostring(err))

    -- Errors are ratchet errors naming the function.
    local bad = ratchet.zmqsocket.new("PAIR")
    ok, err = pcall(bad.bind, bad, "nonsense")
    assert(not ok and err.type == "ratchet_error" and err["function"] == "ratchet.zmqsocket.bind()", tostring(err))
    bad:close()

    -- A send that cannot go anywhere gives up at the timeout.
    local lonely = ratchet.zmqsocket.new("REQ")
    lonely:bind("tcp://127.0.0.1:0")
    lonely:set_timeout(0.05)
    assert(select("#", lonely:send("anyone?")) == 0)
    lonely:close()
    -- Closing a socket wakes a thread waiting in recv with an error.
    local waiter = ratchet.zmqsocket.new("REP")
    waiter:bind("tcp://127.0.0.1:0")
    ratchet.thread.attach(function ()
        ratchet.thread.timer(0.02)
        waiter:close()
    end)
    ok, err = pcall(waiter.recv, waiter)
    assert(not ok and err.type == "ratchet_error", tostring(err))
    steps.misc = true
end):loop()

assert(steps.client and steps.server and steps.misc)
