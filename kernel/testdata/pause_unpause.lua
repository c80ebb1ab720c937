require "ratchet"
local log = {}
local function ctx1()
    local v = ratchet.thread.pause()
    assert(v == "beep beep", tostring(v))
    log[#log + 1] = "ctx1"
    ratchet.thread.unpause(t2, "boop boop")
end
local function ctx2()
    ratchet.thread.unpause(t1, "beep beep")
    local a, b = ratchet.thread.pause()
    assert(a == "boop boop" and b == nil)
    log[#log + 1] = "ctx2"
end
kernel = ratchet.new(function ()
    t1 = ratchet.thread.attach(ctx1)
    t2 = ratchet.thread.attach(ctx2)
end)
kernel:loop()
assert(table.concat(log, ",") == "ctx1,ctx2")
-- unpausing a thread that is not paused is an error
local k2 = ratchet.new(function ()
    local t = ratchet.thread.attach(function () ratchet.thread.timer(0.01) end)
    ratchet.thread.timer(0)
    local ok, err = pcall(ratchet.thread.unpause, t)
    assert(not ok and err:match("not yielding"), tostring(err))
end)
k2:loop()
