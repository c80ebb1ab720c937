-- Spec 3.2 test_timerfd, bounded: the original read forever.
require "ratchet"

local fired, ticks = 0, 0
kernel = ratchet.new(function ()
    local tfd = ratchet.timerfd.new()
    assert(type(tfd:get_fd()) == "number" and tfd:get_fd() >= 0)
    local old_first, old_interval = tfd:settime(0.05, 0.05)
    assert(old_first == 0 and old_interval == 0)
    local remaining, interval = tfd:gettime()
    assert(remaining > 0 and remaining <= 0.05 and math.abs(interval - 0.05) < 1e-6)
    ratchet.thread.attach(function ()
        while fired < 3 do
            ratchet.thread.timer(0.01)
            ticks = ticks + 1
        end
    end)
    while fired < 3 do
        local n = tfd:read()
        assert(n >= 1)
        fired = fired + n
    end
    -- Missed expirations accumulate into one read.
    ratchet.thread.timer(0.2)
    assert(tfd:read() >= 2)
    local f, i = tfd:settime()  -- disarm
    assert(f > 0 and math.abs(i - 0.05) < 1e-6)
    assert(tfd:gettime() == 0)
    -- block_on sees a timer as readable once it expired.
    tfd:settime(0.2)
    assert(ratchet.thread.block_on({tfd}, nil, 0.001) == false)
    assert(ratchet.thread.block_on({tfd}) == tfd)
    assert(tfd:read() == 1)
    assert(tfd:close() == true)
    assert(tfd:close() == nil)
    assert(tfd:get_fd() == -1)
    local ok, err = pcall(tfd.read, tfd)
    assert(not ok and err.code == "EBADF", tostring(err))

    -- Absolute mode on the realtime clock.
    local rt = ratchet.timerfd.new("realtime")
    rt:settime(os.time() - 1, nil, "absolute")
    assert(rt:read() == 1)
    rt:close()

    assert(not pcall(ratchet.timerfd.new, "sundial"))
    assert(not pcall(rt.settime, rt, 1, 1, "sideways"))
end)
kernel:loop()
assert(fired >= 3 and ticks > 0)
