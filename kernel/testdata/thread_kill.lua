require "ratchet"
local order = {}
kernel = ratchet.new(function ()
    local paused = {}
    for i = 1, 5 do
        paused[i] = ratchet.thread.attach(function () ratchet.thread.pause(); error("unpaused?") end)
    end
    local queued = ratchet.thread.attach(function () error("killed before start must not run") end)
    local sleeper = ratchet.thread.attach(function () ratchet.thread.timer(10); error("not killed") end)
    local waiter = ratchet.thread.attach(function () ratchet.thread.wait_all({sleeper}); order[#order+1] = "waiter" end)
    ratchet.thread.kill(queued)
    ratchet.thread.attach(function (victims, blocked)
        ratchet.thread.kill_all(victims)
        ratchet.thread.kill(blocked)
        ratchet.thread.kill(blocked) -- no-op
        order[#order+1] = "killer"
        ratchet.thread.kill(ratchet.thread.self())
        error("kill(self) must not return")
    end, paused, sleeper)
    ratchet.thread.timer(0.01)
end)
kernel:loop()
assert(kernel:get_num_threads() == 0)
assert(table.concat(order, ",") == "killer,waiter", table.concat(order, ","))
-- coroutine.status of ratchet threads
local k2 = ratchet.new(function ()
    local me = ratchet.thread.self()
    assert(coroutine.status(me) == "running")
    local sleeper = ratchet.thread.attach(function () ratchet.thread.timer(5) end)
    local quick = ratchet.thread.attach(function () end)
    assert(coroutine.status(sleeper) == "suspended")
    ratchet.thread.timer(0.01)
    assert(coroutine.status(quick) == "dead", coroutine.status(quick))
    assert(coroutine.status(sleeper) == "suspended")
    ratchet.thread.kill(sleeper)
    assert(coroutine.status(sleeper) == "dead")
    assert(not coroutine.resume(sleeper))
end)
k2:loop()
