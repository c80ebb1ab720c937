-- spec 1.5-1.8 and 2.2: kill, alarm, pause/unpause, wait_all, block_on and
-- sigwait edge cases.
require "ratchet"

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(tostring(err):match(pattern), tostring(err))
end

reports = {}
local function handler(err, thread)
    table.insert(reports, tostring(err))
end

-- kill of a queued thread: it never runs; kill of a finished one: no-op.
ran = {}
kernel = ratchet.new(function ()
    local q = ratchet.thread.attach(function () ran.q = true end)
    assert(kernel:get_num_threads() == 2)
    ratchet.thread.kill(q)
    assert(kernel:get_num_threads() == 1)
    local f = ratchet.thread.attach(function () ran.f = true end)
    ratchet.thread.wait_all({f})
    ratchet.thread.kill(f)
    ratchet.thread.kill(f)
    ratchet.thread.kill(q)
    ran.entry = true
end, handler)
kernel:loop()
assert(ran.entry and ran.f and not ran.q)
assert(#reports == 0, reports[1])

-- kill(self) ends the caller at once, as if it returned, without a report.
after_self_kill = false
kernel = ratchet.new(function ()
    ratchet.thread.kill(ratchet.thread.self())
    after_self_kill = true
end, handler)
kernel:loop()
assert(not after_self_kill)
assert(#reports == 0, reports[1])
assert(kernel:get_num_threads() == 0)

-- kill_all including self kills the others first.
killed_others = false
kernel = ratchet.new(function ()
    local other = ratchet.thread.attach(function () ratchet.thread.pause() end)
    ratchet.thread.timer(0)
    ratchet.thread.kill_all({ratchet.thread.self(), other})
    error("not reached")
end, handler)
kernel:loop()
assert(#reports == 0, reports[1])
assert(kernel:get_num_threads() == 0)

-- Argument checks.
kernel = ratchet.new(function ()
    expect_error("bad argument", ratchet.thread.kill, "nope")
    expect_error("bad argument", ratchet.thread.kill)
    expect_error("not a thread", ratchet.thread.kill_all, {1})
    expect_error("bad argument", ratchet.thread.kill_all, "nope")
    expect_error("Invalid signal", ratchet.thread.sigwait, "SIGNOPE")
    expect_error("Invalid signal", ratchet.thread.sigwait, {})
    expect_error("bad argument", ratchet.thread.block_on, "nope")
    expect_error("bad argument", ratchet.thread.alarm)
end)
kernel:loop()

-- A waiter on a killed suspended thread resumes; failures of children are
-- not reported to the waiter; a killed waiter never resumes.
order = {}
reports = {}
kernel = ratchet.new(function ()
    local sleeper = ratchet.thread.attach(function () ratchet.thread.timer(10) end)
    local failer = ratchet.thread.attach(function () error("child failed") end)
    local waiter = ratchet.thread.attach(function ()
        ratchet.thread.wait_all({sleeper, failer})
        table.insert(order, "waiter resumed")
    end)
    local doomed = ratchet.thread.attach(function ()
        ratchet.thread.wait_all({sleeper})
        table.insert(order, "doomed resumed")
    end)
    ratchet.thread.timer(0.01)
    ratchet.thread.kill(doomed)
    ratchet.thread.kill(sleeper)
    ratchet.thread.wait_all({waiter})
    table.insert(order, "entry done")
end, handler)
kernel:loop()
assert(table.concat(order, ",") == "waiter resumed,entry done", table.concat(order, ","))
assert(#reports == 1 and reports[1]:match("child failed"))

-- pause returns exactly the unpause values, nils included; unpause twice
-- before it runs: queued once, last values win; unpause from main works.
results = {}
kernel = ratchet.new(function ()
    local p = ratchet.thread.attach(function ()
        results.n = select("#", ratchet.thread.pause())
        results.a, results.b = ratchet.thread.pause()
        results.runs = (results.runs or 0) + 1
        results.c = ratchet.thread.pause()
    end)
    ratchet.thread.timer(0)
    ratchet.thread.unpause(p, nil, 2, nil)
    ratchet.thread.timer(0)
    ratchet.thread.unpause(p, "first")
    ratchet.thread.unpause(p, "second", "x")
    ratchet.thread.timer(0)
    results.p = p
end)
kernel:loop_once()
kernel:loop_once()
kernel:loop_once()
kernel:loop_once()
kernel:loop_once()
kernel:loop_once()
assert(results.n == 3, tostring(results.n))
assert(results.a == "second" and results.b == "x")
assert(results.runs == 1)
ratchet.thread.unpause(results.p, "from main")
kernel:loop()
assert(results.c == "from main")

-- unpause of a thread that is not paused is a plain error.
kernel = ratchet.new(function ()
    local sleeper = ratchet.thread.attach(function () ratchet.thread.timer(10) end)
    local finished = ratchet.thread.attach(function () end)
    ratchet.thread.timer(0.01)
    expect_error("Thread is not yielding, cannot unpause%.", ratchet.thread.unpause, sleeper)
    expect_error("Thread is not yielding, cannot unpause%.", ratchet.thread.unpause, finished)
    expect_error("Thread is not yielding, cannot unpause%.", ratchet.thread.unpause, ratchet.thread.self())
    expect_error("bad argument", ratchet.thread.unpause, "nope")
    ratchet.thread.kill(sleeper)
end)
kernel:loop()

-- An alarm for a thread already queued by unpause still stops it.
reports = {}
resumed_after_alarm = false
kernel = ratchet.new(function ()
    local p = ratchet.thread.attach(function ()
        ratchet.thread.alarm(0)
        ratchet.thread.pause()
        resumed_after_alarm = true
    end)
    ratchet.thread.timer(0)
    ratchet.thread.unpause(p)
    ratchet.thread.timer(0.01)
end, handler)
kernel:loop()
assert(#reports <= 1)

-- A blocking call in an alarm callback raises instead of blocking; its
-- error is what the handler gets.
cb_errors = {}
kernel = ratchet.new(function ()
    ratchet.thread.alarm(0, function () ratchet.thread.timer(1) end)
    ratchet.thread.timer(1)
end, function (err, thread)
    table.insert(cb_errors, err)
end)
kernel:loop()
assert(#cb_errors == 1 and not ratchet.error.is(cb_errors[1], "ALARM"), tostring(cb_errors[1]))

-- block_on: the very object is returned, false on timeout, list order on
-- ties (reads before writes), foreign get_fd objects.
kernel = ratchet.new(function ()
    local a1, a2 = ratchet.socket.new_pair()
    local b1, b2 = ratchet.socket.new_pair()
    assert(ratchet.thread.block_on({a1, b1}, nil, 0.01) == false)
    assert(ratchet.thread.block_on({a1, b1}, {}, 0) == false)
    b2:send("x")
    a2:send("y")
    assert(ratchet.thread.block_on({a1, b1}) == a1)
    assert(ratchet.thread.block_on({b1, a1}) == b1)
    assert(ratchet.thread.block_on({}, {a1, b1}) == a1)
    local foreign = {get_fd = function (self) return b1:get_fd() end}
    assert(ratchet.thread.block_on({foreign}, nil, 1) == foreign)
    local wrapper = {get_fd = function (self) return a1:get_fd() end}
    -- Same descriptor twice: the later entry is returned.
    assert(ratchet.thread.block_on({a1}, {wrapper}) == wrapper)
    expect_error("", ratchet.thread.block_on, {{}})
    expect_error("", ratchet.thread.block_on, {{get_fd = function () return -1 end}})
    a1:recv(); b1:recv()
    -- A ready object wins even with a zero timeout.
    a2:send("z")
    assert(ratchet.thread.block_on({b1, a1}, nil, 0) == a1)
end)
kernel:loop()

-- sigwait returns true once the signal arrives.
got_signal = nil
kernel = ratchet.new(function ()
    ratchet.thread.attach(function ()
        got_signal = ratchet.thread.sigwait("SIGUSR1")
    end)
    ratchet.thread.attach(function ()
        local p = ratchet.exec.new({"sh", "-c", "kill -USR1 $PPID"})
        p:start()
        assert(p:wait() == 0)
    end)
end)
kernel:loop()
assert(got_signal == true)
got_signal = nil
kernel = ratchet.new(function ()
    ratchet.thread.attach(function ()
        got_signal = ratchet.thread.sigwait(12)
    end)
    ratchet.thread.attach(function ()
        ratchet.exec.new({"sh", "-c", "kill -USR2 $PPID"}):communicate()
    end)
end)
kernel:loop()
assert(got_signal == true)
