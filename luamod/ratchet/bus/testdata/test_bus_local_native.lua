-- The native local bus (ratchet.bus.native behind ratchet.bus.new_local):
-- FIFO receivers and queue, false/nil responses, fields, methods fetched by
-- indexing, killed receivers skipped, errors outside a thread and on bad
-- arguments.
require "ratchet"
require "ratchet.bus"

local checks = 0
local function check(cond, msg)
    assert(cond, msg)
    checks = checks + 1
end

local function fails(pattern, fn, ...)
    local ok, err = pcall(fn, ...)
    check(not ok, "expected an error matching " .. pattern)
    check(string.find(tostring(err), pattern, 1, true), tostring(err))
end

-- Outside any ratchet thread: sending and taking queued work is fine,
-- waiting is not.
do
    local a, b = ratchet.bus.new_local("ignored", 42)
    check(a == b and rawequal(a, b), "new_local returns one object twice")
    fails("ratchet.bus.recv_request() cannot be called from main thread", a.recv_request, a)
    local tr = a:send_request("main")
    check(tr.request == "main" and tr.responded == false and tr.response == nil)
    fails("ratchet.bus.recv_response() cannot be called from main thread", tr.recv_response, tr)
    local got, req = a:recv_request()
    check(rawequal(got, tr) and req == "main")
    tr:send_response("done")
    check(tr:recv_response() == "done", "no wait once responded")

    -- argument errors
    fails("bad argument #1 to 'ratchet.bus.send_request'", a.send_request, nil, 1)
    fails("bad argument #1 to 'ratchet.bus.recv_request' (ratchet.bus local bus expected, got table)", a.recv_request, {})
    fails("bad argument #1 to 'ratchet.bus.send_response'", tr.send_response, "x", 1)
    fails("bad argument #1 to 'ratchet.bus.recv_response'", tr.recv_response, a)
    fails("bad argument #1 to 'ratchet.bus.send_request'", a.send_request, tr)

    -- fields: readable, writable like the former Lua table's
    tr.note = "kept"
    tr[1] = "one"
    check(tr.note == "kept" and tr[1] == "one" and tr.missing == nil)
    tr.request = "changed"
    check(tr.request == "changed")
    fails("table index is nil", function () tr[nil] = 1 end)

    -- the internal classes stay loadable
    local samestate = require "ratchet.bus.samestate"
    local st = require "ratchet.bus.samestate_transaction"
    local s = samestate.new()
    check(type(s.send_request) == "function" and type(s.recv_request) == "function")
    local t2 = st.new(5)
    check(t2.request == 5 and t2.responded == false)
    t2:send_response(nil)
    check(t2.responded == true and t2:recv_response() == nil)
end

local function fifo_receivers()
    local bus = ratchet.bus.new_local()
    local got = {}
    for i = 1, 4 do
        ratchet.thread.attach(function ()
            local tr, req = bus:recv_request()
            got[#got + 1] = i .. ":" .. tostring(req)
            tr:send_response(req)
        end)
    end
    ratchet.thread.timer(0.01) -- all four park
    local trs = {}
    for i, req in ipairs({"a", "b", "c", "d"}) do
        trs[i] = bus:send_request(req)
    end
    check(#got == 0, "send_request never blocks")
    for i, req in ipairs({"a", "b", "c", "d"}) do
        check(trs[i]:recv_response() == req)
    end
    check(table.concat(got, ",") == "1:a,2:b,3:c,4:d", table.concat(got, ","))
end

local function fifo_queue()
    local bus = ratchet.bus.new_local()
    local trs = {}
    for i = 1, 100 do
        trs[i] = bus:send_request(i)
    end
    for i = 1, 100 do
        local tr, req = bus:recv_request()
        check(rawequal(tr, trs[i]) and req == i, "queue order at " .. i)
    end
    -- the emptied queue still works, interleaved with parked receivers
    local seen
    ratchet.thread.attach(function ()
        local tr, req = bus:recv_request()
        seen = req
        tr:send_response(req * 2)
    end)
    ratchet.thread.timer(0.01)
    check(bus:send_request(21):recv_response() == 42 and seen == 21)
end

local function false_nil_responses()
    local bus = ratchet.bus.new_local()
    local server = ratchet.thread.attach(function ()
        while true do
            local tr, req = bus:recv_request()
            if req == "false" then
                tr:send_response(false)
            elseif req == "nil" then
                tr:send_response(nil)
            else
                tr:send_response()
            end
        end
    end)
    local tf = bus:send_request("false")
    local tn = bus:send_request("nil")
    local tv = bus:send_request("void")
    check(tf.responded == false, "not answered yet")
    check(tf:recv_response() == false and tf.responded == true and tf.response == false)
    check(tn:recv_response() == nil and tn.responded == true)
    check(select("#", tv:recv_response()) == 1 and tv.responded == true)
    -- asked again after the response: returns at once
    check(tf:recv_response() == false)
    ratchet.thread.kill(server)
end

local function many_response_waiters()
    local bus = ratchet.bus.new_local()
    local tr = bus:send_request("x")
    local woke = 0
    for _ = 1, 3 do
        ratchet.thread.attach(function ()
            if tr:recv_response() == "r" then woke = woke + 1 end
        end)
    end
    ratchet.thread.timer(0.01)
    local rtr = bus:recv_request()
    rtr:send_response("r")
    ratchet.thread.timer(0.01)
    check(woke == 3, "every recv_response waiter wakes: " .. woke)
end

local function killed_receiver_skipped()
    local bus = ratchet.bus.new_local()
    local got = {}
    local function receiver(name)
        return function ()
            local tr, req = bus:recv_request()
            got[#got + 1] = name .. ":" .. req
            tr:send_response(name)
        end
    end
    local r1 = ratchet.thread.attach(receiver("r1"))
    local r2 = ratchet.thread.attach(receiver("r2"))
    local r3 = ratchet.thread.attach(receiver("r3"))
    ratchet.thread.timer(0.01)
    ratchet.thread.kill(r1)
    ratchet.thread.kill(r3)
    check(bus:send_request("q"):recv_response() == "r2")
    -- no live receiver left: the next request is queued, not lost
    local tr = bus:send_request("later")
    ratchet.thread.attach(receiver("r4"))
    check(tr:recv_response() == "r4")
    check(table.concat(got, ",") == "r2:q,r4:later", table.concat(got, ","))
    -- a killed recv_response waiter is skipped as well
    local t2 = bus:send_request("w")
    local waiter = ratchet.thread.attach(function () t2:recv_response() end)
    local ok = false
    ratchet.thread.attach(function () ok = t2:recv_response() == "fine" end)
    ratchet.thread.timer(0.01)
    ratchet.thread.kill(waiter)
    t2:send_response("fine")
    ratchet.thread.timer(0.01)
    check(ok)
end

local function methods_by_indexing()
    local bus = ratchet.bus.new_local()
    local send, recv = bus.send_request, bus.recv_request
    ratchet.thread.attach(function ()
        local tr, req = recv(bus)
        local sr = tr.send_response
        sr(tr, req .. "!")
    end)
    local tr = send(bus, "hi")
    local rr = tr["recv_response"]
    check(rr(tr) == "hi!")
    -- the wrapper of slimta.bus.guard: methods fetched with t[key]
    local wrapped = setmetatable({}, {__index = function (_, key)
        local v = tr[key]
        if type(v) == "function" then
            return function (self, ...) return v(tr, ...) end
        end
        return v
    end})
    check(wrapped.request == "hi" and wrapped.responded == true and wrapped:recv_response() == "hi!")
end

kernel = ratchet.new(function ()
    fifo_receivers()
    fifo_queue()
    false_nil_responses()
    many_response_waiters()
    killed_receiver_skipped()
    methods_by_indexing()
end)
kernel:loop()
assert(checks == 144, tostring(checks))
