-- spec 2.8 and 2.9: timerfd and zmqsocket details.
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(tostring(err):match(pattern), tostring(err))
    return err
end

expect_error("invalid option", ratchet.timerfd.new, "sundial")
local rt = ratchet.timerfd.new("realtime")
assert(rt:close() == true)
assert(select("#", rt:close()) == 0)

done = false
kernel = ratchet.new(function ()
    local t = ratchet.timerfd.new()
    assert(type(t:get_fd()) == "number")
    local old, oldi = t:settime(10, 5)
    assert(old == 0 and oldi == 0)
    local rem, int = t:gettime()
    assert(rem > 9 and rem <= 10 and int == 5)
    old, oldi = t:settime(0.01)
    assert(old > 9 and oldi == 5)
    rem, int = t:gettime()
    assert(int == 0)
    assert(t:read() == 1)
    t:settime(0.005, 0.005)
    ratchet.thread.timer(0.05)
    assert(t:read() >= 2)
    t:settime(-1)
    rem, int = t:gettime()
    assert(rem == 0 and int == 0)
    assert(ratchet.thread.block_on({t}, nil, 0.01) == false)
    t:settime(0.001)
    assert(ratchet.thread.block_on({t}, nil, 1) == t)
    t:close()
    done = true
end)
kernel:loop()
assert(done)

-- zmq: prepare_uri, send returns true, recv returns data and the more flag.
local u = ratchet.zmqsocket.prepare_uri("rep:tcp://127.0.0.1:1")
assert(u.type == "REP" and u.endpoint == "tcp://127.0.0.1:1")
u = ratchet.zmqsocket.prepare_uri("tcp://127.0.0.1:1")
assert(u.type == "TCP" and u.endpoint == "//127.0.0.1:1")
u = ratchet.zmqsocket.prepare_uri("noscheme")
assert(u.type == nil and u.endpoint == "noscheme")

done = 0
kernel = ratchet.new(function ()
    local req = ratchet.zmqsocket.new("REQ")
    assert(req:bind("tcp://127.0.0.1:" .. PORT) == true)
    assert(req:get_timeout() == -1)
    ratchet.thread.attach(function ()
        local rep = ratchet.zmqsocket.new("REP")
        assert(rep:connect("tcp://127.0.0.1:" .. PORT) == true)
        local data, more = rep:recv()
        assert(data == "one" and more == true, tostring(more))
        data, more = rep:recv()
        assert(data == "two" and more == false)
        assert(rep:send("a", true) == true)
        assert(rep:send("b") == true)
        done = done + 1
    end)
    assert(req:send("one", true) == true)
    assert(req:send("two") == true)
    assert(req:recv_all() == "ab")
    done = done + 1
end)
kernel:loop()
assert(done == 2)
