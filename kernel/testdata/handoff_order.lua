require "ratchet"
-- A thread that suspends during step 1 of loop_once hands the baton to the
-- next queued thread itself (no scheduler round trip). Checked here: the
-- order stays the scheduler's (FIFO over attach/unpause), ping-pong
-- between two threads stays in one pass, and threads unpaused by a thread
-- that a poll resumed still start only in the next pass (spec 1.3 step 4).
local order = {}
local function log(s) order[#order + 1] = s end

-- FIFO: three threads attached in order, each pausing and unpaused in
-- reverse; every one runs in attach order, then in unpause order.
local kernel = ratchet.new(function ()
    local ts = {}
    for i = 1, 3 do
        ts[i] = ratchet.thread.attach(function ()
            log("start" .. i)
            log("resumed" .. i .. ":" .. tostring(ratchet.thread.pause()))
        end)
    end
    ratchet.thread.timer(0)
    for i = 3, 1, -1 do
        ratchet.thread.unpause(ts[i], i)
    end
end)
kernel:loop()
assert(table.concat(order, ",") == "start1,start2,start3,resumed3:3,resumed2:2,resumed1:1",
       table.concat(order, ","))

-- ping-pong over pause/unpause: the whole exchange runs in one pass
local rounds = 0
kernel = ratchet.new(function ()
    local me = ratchet.thread.self()
    local peer = ratchet.thread.attach(function ()
        ratchet.thread.unpause(me, 0)
        local n = 0
        while n < 199 do
            n = ratchet.thread.pause()
            ratchet.thread.unpause(me, n + 1)
        end
    end)
    local n = ratchet.thread.pause() -- hands the baton to peer
    while true do
        rounds = rounds + 1
        if n >= 200 then
            break
        end
        ratchet.thread.unpause(peer, n + 1)
        n = ratchet.thread.pause()
    end
end)
assert(kernel:loop_once() == true)
assert(rounds == 101, rounds)
assert(kernel:loop_once() == false)

-- step 4: a thread resumed by the poll unpauses another, then sleeps; the
-- unpaused thread must not run inside that poll pass.
order = {}
kernel = ratchet.new(function ()
    local sleeper
    local paused = ratchet.thread.attach(function ()
        ratchet.thread.pause()
        log("unpaused runs")
    end)
    sleeper = ratchet.thread.attach(function ()
        ratchet.thread.timer(0.01)
        log("sleeper woke")
        ratchet.thread.unpause(paused)
        ratchet.thread.timer(0.01)
        log("sleeper done")
    end)
end)
assert(kernel:loop_once()) -- step 1: entry, paused, sleeper start and suspend
assert(#order == 0)
assert(kernel:loop_once()) -- step 4: sleeper wakes, unpauses, sleeps again
assert(table.concat(order, ",") == "sleeper woke", table.concat(order, ","))
assert(kernel:loop_once()) -- step 1 of the next pass: the unpaused thread
assert(table.concat(order, ",") == "sleeper woke,unpaused runs", table.concat(order, ","))
kernel:loop()
assert(table.concat(order, ",") == "sleeper woke,unpaused runs,sleeper done")
