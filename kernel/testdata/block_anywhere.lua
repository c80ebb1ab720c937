-- Every blocking ratchet call must work from any Lua frame. Each case
-- blocks (timer) while a ticker thread advances, proving other threads ran.
require "ratchet"

local ticks = 0
local function block()
    local before = ticks
    -- Timers of different threads may fire in one poll in any order, so
    -- wait (blocking each time, from this same frame) until the ticker ran.
    for _ = 1, 2000 do
        ratchet.thread.timer(0.001)
        if ticks > before then return end
    end
    error("ticker did not run while blocked")
end

local cases = {}

cases.pcall = function ()
    local ok, v = pcall(function () block(); return 42 end)
    assert(ok and v == 42)
end

cases.pcall_error_after_block = function ()
    local ok, err = pcall(function () block(); error("late") end)
    assert(not ok and err:find("late"))
end

cases.nested_pcall = function ()
    local ok, v = pcall(pcall, pcall, function () block(); return "deep" end)
    assert(ok and v == true)
end

cases.xpcall = function ()
    local ok, v = xpcall(function () block(); error("x") end, function (e) block(); return "handled" end)
    assert(not ok and v == "handled")
end

cases.error_table_identity = function ()
    local e = {}
    local ok, got = pcall(function () block(); error(e) end)
    assert(not ok and rawequal(got, e))
end

cases.metamethods = function ()
    local mt = {}
    mt.__index = function (t, k) block(); return k .. "!" end
    mt.__newindex = function (t, k, v) block(); rawset(t, k, v * 2) end
    mt.__call = function (self, a) block(); return a + 1 end
    mt.__add = function (a, b) block(); return 10 end
    mt.__concat = function (a, b) block(); return "cc" end
    mt.__lt = function (a, b) block(); return true end
    mt.__le = function (a, b) block(); return false end
    mt.__eq = function (a, b) block(); return true end
    mt.__unm = function (a) block(); return -1 end
    mt.__tostring = function (a) block(); return "T" end
    local a, b = setmetatable({}, mt), setmetatable({}, mt)
    assert(a.foo == "foo!")
    a.x = 2; assert(rawget(a, "x") == 4)
    assert(a(1) == 2)
    assert(a + b == 10)
    assert(a .. b == "cc")
    assert(a < b)
    assert(not (a <= b))
    assert(a == b)
    assert(-a == -1)
    assert(tostring(a) == "T")
end

cases.for_iterator = function ()
    local function iter(s, i)
        block()
        if i < 3 then return i + 1 end
    end
    local n = 0
    for i in iter, nil, 0 do n = n + i end
    assert(n == 6)
    for _, v in ipairs({1, 2}) do block() end
    for k, v in pairs({a = 1}) do block() end
end

cases.sort_comparator = function ()
    local t = {5, 3, 9, 1}
    table.sort(t, function (a, b) block(); return a < b end)
    assert(table.concat(t, ",") == "1,3,5,9")
end

cases.gsub_callback = function ()
    local s = ("abc"):gsub("%w", function (c) block(); return c:upper() end)
    assert(s == "ABC")
    local r = ("xy"):gsub("%w", setmetatable({}, {__index = function (t, k) block(); return k .. k end}))
    assert(r == "xxyy")
end

cases.coroutine_wrap = function ()
    local gen = coroutine.wrap(function (a)
        block()
        local b = coroutine.yield(a + 1)
        block()
        coroutine.yield(b * 2)
        return "end"
    end)
    assert(gen(1) == 2)
    assert(gen(5) == 10)
    assert(gen() == "end")
end

cases.coroutine_create = function ()
    local co = coroutine.create(function ()
        assert(coroutine.running() ~= nil)
        block()
        assert(coroutine.status(coroutine.running()) == "running")
        coroutine.yield("y")
        block()
        error({tag = "inner"})
    end)
    local ok, v = coroutine.resume(co)
    assert(ok and v == "y", tostring(v))
    assert(coroutine.status(co) == "suspended")
    local ok2, e = coroutine.resume(co)
    assert(not ok2 and e.tag == "inner")
    assert(coroutine.status(co) == "dead")
end

cases.deep_mix = function ()
    local mt = {__index = function (t, k)
        local ok, v = pcall(function ()
            local arr = {3, 1, 2}
            table.sort(arr, function (a, b)
                local co = coroutine.wrap(function () block(); return a < b end)
                return co()
            end)
            return table.concat(arr)
        end)
        return v
    end}
    assert(setmetatable({}, mt).x == "123")
end

cases.load_reader = function ()
    local parts = {"return ", "1 + ", "1"}
    local i = 0
    local f = (loadstring and load) and load(function ()
        block(); i = i + 1; return parts[i]
    end)
    assert(f() == 2)
end

cases.thread_self_identity = function ()
    local me = ratchet.thread.self()
    block()
    assert(coroutine.running() == me)
    assert(coroutine.status(me) == "running")
end

local kernel = ratchet.new(function ()
    local done = false
    local ticker = ratchet.thread.attach(function ()
        while not done do
            ticks = ticks + 1
            ratchet.thread.timer(0.0005)
        end
    end)
    local threads = {}
    local names = {}
    for name in pairs(cases) do names[#names + 1] = name end
    table.sort(names)
    local results = {}
    for _, name in ipairs(names) do
        threads[#threads + 1] = ratchet.thread.attach(function ()
            cases[name]()
            results[name] = true
        end)
    end
    ratchet.thread.wait_all(threads)
    done = true
    for _, name in ipairs(names) do
        assert(results[name], "case failed: " .. name)
    end
end, function (err, thread)
    error(tostring(err) .. "\n" .. debug.traceback(thread, "failed thread"), 0)
end)
kernel:loop()
print("block_anywhere: ok")
