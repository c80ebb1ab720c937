require "ratchet"
local got_alarm, got_cleanup
kernel = ratchet.new(function ()
    ratchet.thread.attach(function ()
        ratchet.thread.alarm(0.0, function () callback_ran = true end)
        ratchet.thread.timer(1.0)
        error("not reached")
    end)
    ratchet.thread.attach(function ()
        ratchet.thread.alarm(0.0, function ()
            error(ratchet.error.new("Test cleanup error", "CLEANUP"))
        end)
        ratchet.thread.timer(1.0)
        error("not reached")
    end)
end, function (err, thread) print("H", err, err.code)
    if ratchet.error.is(err, "ALARM") then
        got_alarm = true
        assert(err.thread == thread)
    elseif ratchet.error.is(err, "CLEANUP") then
        got_cleanup = true
    else
        error(err)
    end
end)
local start = os.time()
kernel:loop()
print(callback_ran, got_alarm, got_cleanup)
assert(callback_ran and got_alarm and got_cleanup)
assert(os.time() - start < 2)
