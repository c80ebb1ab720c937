-- spec 1.1-1.3 and 2.2: the kernel object and ratchet.thread basics.
require "ratchet"

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(type(err) == "string", "expected a plain error, got " .. tostring(err))
    assert(err:match(pattern), err)
    return err
end

-- The kernel is a userdata with methods from its metatable.
entry_args = nil
kernel = ratchet.new(function (...)
    entry_args = select("#", ...)
end)
assert(type(kernel) == "userdata")
assert(type(kernel.loop) == "function")
assert(type(kernel.loop_once) == "function")
assert(type(kernel["break"]) == "function")
assert(kernel:get_num_threads() == 1)
assert(type(kernel:get_method()) == "string")
assert(kernel:loop_once() == true)
assert(entry_args == 0)
assert(kernel:get_num_threads() == 0)
assert(kernel:loop_once() == false)
assert(select("#", kernel:loop()) == 0)

-- self() is nil in main; attach returns the coroutine self() returns.
assert(ratchet.thread.self() == nil)
same = nil
kernel = ratchet.new(function ()
    local me = ratchet.thread.self()
    assert(type(me) == "thread")
    local child
    child = ratchet.thread.attach(function ()
        same = (ratchet.thread.self() == child)
    end)
    assert(type(child) == "thread")
end)
kernel:loop()
assert(same == true)

-- attach passes every argument, explicit nils included.
nargs, a1, a3 = nil
kernel = ratchet.new(function ()
    ratchet.thread.attach(function (...)
        nargs = select("#", ...)
        a1, a3 = ...
        a3 = select(3, ...)
    end, nil, 2, "three", nil)
end)
kernel:loop()
assert(nargs == 4 and a1 == nil and a3 == "three", tostring(nargs))

-- attach() with nothing is a plain argument error.
kernel = ratchet.new(function ()
    expect_error("bad argument", ratchet.thread.attach)
end)
kernel:loop()

-- attach does not run the new thread; FIFO order; wait_all returns nothing.
order = {}
kernel = ratchet.new(function ()
    local a = ratchet.thread.attach(function () table.insert(order, "a") end)
    local b = ratchet.thread.attach(function () table.insert(order, "b") end)
    table.insert(order, "entry")
    assert(kernel:get_num_threads() == 3)
    assert(select("#", ratchet.thread.wait_all({a, b})) == 0)
    table.insert(order, "waited")
    -- Nothing to wait for: still suspends, resumes later.
    assert(select("#", ratchet.thread.wait_all({})) == 0)
    assert(select("#", ratchet.thread.wait_all({a, b})) == 0)
    table.insert(order, "done")
end)
kernel:loop()
assert(table.concat(order, " ") == "entry a b waited done", table.concat(order, " "))

-- wait_all argument checks.
kernel = ratchet.new(function ()
    expect_error("bad argument", ratchet.thread.wait_all, "nope")
    expect_error("Table item 2 is not a thread%.", ratchet.thread.wait_all, {ratchet.thread.self() and coroutine.create(print), 5})
end)
kernel:loop()

-- space(): per-thread, default stored only once; kernel:get_space.
kernel = ratchet.new(function ()
    local s = ratchet.thread.space()
    assert(type(s) == "table")
    assert(ratchet.thread.space() == s)
    assert(ratchet.thread.space("ignored") == s)
    assert(kernel:get_space(ratchet.thread.self()) == s)
    local t = ratchet.thread.attach(function ()
        assert(ratchet.thread.space(42) == 42)
        assert(ratchet.thread.space() == 42)
    end)
    ratchet.thread.wait_all({t})
end)
kernel:loop()

-- timer returns nothing; 0 and negative values only wait for the next poll.
kernel = ratchet.new(function ()
    assert(select("#", ratchet.thread.timer(0)) == 0)
    assert(select("#", ratchet.thread.timer(-1)) == 0)
    assert(select("#", ratchet.thread.timer(0.001)) == 0)
    expect_error("bad argument", ratchet.thread.timer)
    expect_error("bad argument", ratchet.thread.timer, "soon")
    ratchet.thread.timer("0.001")
end)
kernel:loop()

-- Functions that need a kernel fail clearly from main.
assert(not pcall(ratchet.thread.timer, 0))
assert(not pcall(ratchet.thread.pause))
assert(not pcall(ratchet.thread.attach, print))
assert(not pcall(ratchet.thread.wait_all, {}))
assert(not pcall(ratchet.thread.space))
assert(not pcall(ratchet.thread.alarm, 1))
assert(not pcall(ratchet.thread.block_on, {}))
assert(not pcall(ratchet.thread.sigwait, "SIGUSR1"))

-- break: a flag set while no loop runs makes the next loop() return at once.
ticks = 0
kernel = ratchet.new(function ()
    for i = 1, 3 do
        ticks = ticks + 1
        ratchet.thread.timer(0)
    end
end)
kernel["break"](kernel)
kernel:loop()
assert(ticks == 0 and kernel:get_num_threads() == 1)
kernel:loop()
assert(ticks == 3 and kernel:get_num_threads() == 0)

-- loop_once(true) never sleeps.
kernel = ratchet.new(function () ratchet.thread.timer(0.05) end)
assert(kernel:loop_once(true) == true)
local spins = 0
while kernel:loop_once(true) do spins = spins + 1 end
assert(spins > 0)

-- Any callable value can be an entry or a thread body.
called = 0
local obj = setmetatable({n = 1}, {__call = function (self, x)
    called = called + self.n + (x or 0)
end})
kernel = ratchet.new(obj)
kernel:loop()
kernel = ratchet.new(function () ratchet.thread.attach(obj, 10) end)
kernel:loop()
assert(called == 12, called)

-- A wait_all waiter resumes only in a later iteration, once the run queue
-- is empty (1.3 step 2, 1.8.5).
order = {}
kernel = ratchet.new(function ()
    local b = ratchet.thread.attach(function ()
        ratchet.thread.attach(function () table.insert(order, "c") end)
        table.insert(order, "b")
    end)
    ratchet.thread.wait_all({b})
    table.insert(order, "w")
end)
assert(kernel:loop_once() == true)
assert(table.concat(order, ",") == "b,c", table.concat(order, ","))
assert(kernel:loop_once() == true)
assert(table.concat(order, ",") == "b,c,w", table.concat(order, ","))
assert(kernel:loop_once() == false)

-- get_space on a thread the kernel does not know: the default comes back.
kernel = ratchet.new(function () end)
local stranger = coroutine.create(print)
assert(kernel:get_space(stranger, "dflt") == "dflt")
assert(type(kernel:get_space(stranger)) == "table")

-- stackdump prints to stdout and returns nothing.
assert(select("#", ratchet.stackdump()) == 0)
