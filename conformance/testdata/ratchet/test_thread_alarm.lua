require "ratchet"

alarm_callback_called = false
got_alarm = false
got_cleanup = false
unexpected = nil

function ctx1()
    ratchet.thread.alarm(0.0, function ()
        alarm_callback_called = true
    end)
    ratchet.thread.timer(1.0)
    error("alarm did not interrupt thread 1")
end

function ctx2()
    ratchet.thread.alarm(0.0, function ()
        error(ratchet.error.new("Test cleanup error", "CLEANUP"))
    end)
    ratchet.thread.timer(1.0)
    error("alarm did not interrupt thread 2")
end

function handler(err, thread)
    if ratchet.error.is(err, "ALARM") then
        got_alarm = true
    elseif ratchet.error.is(err, "CLEANUP") then
        got_cleanup = true
    else
        unexpected = tostring(err)
    end
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx1)
    ratchet.thread.attach(ctx2)
end, handler)
kernel:loop()

assert(not unexpected, unexpected)
assert(alarm_callback_called)
assert(got_alarm)
assert(got_cleanup)
