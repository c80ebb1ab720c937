-- spec 5 and 1.4: Lua 5.2 behaviour old scripts rely on, and blocking calls
-- from every kind of Lua frame inside a ratchet thread.
require "ratchet"

-- Library functions and idioms of both 5.1 and 5.2.
assert(table.unpack and unpack and table.pack)
local packed = table.pack(1, nil, 3)
assert(packed.n == 3)
assert(select("#", table.unpack({1, 2, 3})) == 3)
assert(select(-1, 1, 2, 3) == 3)
assert(rawlen({1, 2}) == 2 and rawlen("abc") == 3)
assert(bit32.band(0xff, 0x0f) == 0x0f and bit32.bor(1, 2) == 3 and bit32.lshift(1, 4) == 16)
assert(load("return 1 + 1")() == 2)
assert(load("return x", "chunk", "t", {x = 5})() == 5)
assert(loadstring("return 3")() == 3)
assert(math.log(8, 2) == 3)
assert(string.format("%5.2f|%d|%s|%q", 3.14159, 42, "x", "a\nb") == " 3.14|42|x|\"a\\\nb\"")
assert(("x"):rep(3, ",") == "x,x,x")
assert(tostring(10 / 2) == "5")
assert(tostring(1e15) == "1e+15")
assert(tostring(0.1) == "0.1")
assert(tonumber("0x10") == 16 and tonumber("1e2") == 100 and tonumber("z", 36) == 35)
assert(#"a\0b" == 3)
assert(("a\0b"):find("\0", 1, true) == 2)
assert(("key: value\r\n"):match("^(.-):%s+(.-)%\r?%\n") == "key")
assert(("abc"):match("b", nil) == "b")
assert(("hello world"):gsub("o", "%0%0") == "helloo woorld")
assert(("x=1"):match("()=()") == 2)
assert(table.concat({1, 2, 3, 4}, "-", 2, 3) == "2-3")
local t = {1, 2, 3}
assert(table.remove(t, 1) == 1 and t[1] == 2)
local r1, r2, r3 = assert(1, 2, 3)
assert(r1 == 1 and r2 == 2 and r3 == 3)
local ok, err = pcall(error, {code = 1})
assert(not ok and err.code == 1)
ok, err = pcall(error, "plain", 0)
assert(err == "plain")
ok, err = pcall(error)
assert(not ok and err == nil)
assert(select("#", xpcall(function (a, b) return a + b end, debug.traceback, 1, 2)) == 2)
do
    local i = 0
    ::top::
    i = i + 1
    if i < 3 then goto top end
    assert(i == 3)
end
assert(coroutine.running() ~= nil or coroutine.running() == nil)
local co = coroutine.create(function () coroutine.yield(1) end)
coroutine.resume(co)
assert(type(debug.traceback(co, "msg", 0)) == "string")
assert(debug.traceback(co, "msg"):match("^msg\nstack traceback:"))
assert(debug.traceback("plain msg"):match("^plain msg\nstack traceback:"))
local tbl = {}
assert(debug.traceback(tbl) == tbl, "non-string messages are returned untouched")
assert(os.getenv("HOME") or true)
assert(type(os.time()) == "number" and type(os.clock()) == "number")
assert(package.searchpath and package.loaded.string == string)
assert(type(package.path) == "string" and package.path:match("%./%?%.lua"))

-- Blocking anywhere inside a thread.
ticks = 0
results = {}
-- nap() parks the caller until the ticker thread has run: a block that
-- needs another thread to make progress, with no timing involved.
sleepers = {}
local function nap()
    table.insert(sleepers, ratchet.thread.self())
    ratchet.thread.pause()
end
local function check(name, f)
    local before = ticks
    local ok, err = pcall(f)
    assert(ok, name .. ": " .. tostring(err))
    assert(ticks > before, name .. ": other threads must run while it blocks")
    results[name] = true
end

kernel = ratchet.new(function ()
    local ticker = ratchet.thread.attach(function ()
        while true do
            ticks = ticks + 1
            local waiting = sleepers
            sleepers = {}
            for _, t in ipairs(waiting) do
                ratchet.thread.unpause(t)
            end
            ratchet.thread.timer(0)
        end
    end)

    check("pcall", function () assert(pcall(nap)) end)
    check("nested pcall", function () assert(pcall(pcall, pcall, nap)) end)
    check("pcall error after block", function ()
        local ok, err = pcall(function () nap(); error("late", 0) end)
        assert(not ok and err == "late")
    end)
    check("xpcall", function () assert(xpcall(nap, debug.traceback)) end)
    check("xpcall handler", function ()
        local ok, v = xpcall(function () error("x") end, function (e) nap(); return "handled" end)
        assert(not ok and v == "handled")
    end)
    check("__index", function ()
        local obj = setmetatable({}, {__index = function (t, k) nap(); return k .. "!" end})
        assert(obj.key == "key!")
    end)
    check("__newindex", function ()
        local store = {}
        local obj = setmetatable({}, {__newindex = function (t, k, v) nap(); store[k] = v end})
        obj.a = 1
        assert(store.a == 1)
    end)
    check("__call", function ()
        local obj = setmetatable({}, {__call = function (self, x) nap(); return x * 2 end})
        assert(obj(21) == 42)
    end)
    check("__add", function ()
        local mt = {__add = function (a, b) nap(); return 3 end}
        assert(setmetatable({}, mt) + 1 == 3)
    end)
    check("__eq and __lt", function ()
        local mt = {__eq = function () nap(); return true end, __lt = function () nap(); return true end}
        local x, y = setmetatable({}, mt), setmetatable({}, mt)
        assert(x == y and x < y)
    end)
    check("__concat", function ()
        local obj = setmetatable({}, {__concat = function (a, b) nap(); return "joined" end})
        assert(obj .. "x" == "joined")
    end)
    check("__tostring", function ()
        local obj = setmetatable({}, {__tostring = function () nap(); return "obj" end})
        assert(tostring(obj) == "obj")
    end)
    check("for iterator", function ()
        local function iter(s, i) nap(); if i < 3 then return i + 1 end end
        local n = 0
        for i in iter, nil, 0 do n = n + i end
        assert(n == 6)
    end)
    check("pairs body", function ()
        for k, v in pairs({a = 1, b = 2}) do nap() end
        for i, v in ipairs({1, 2}) do nap() end
    end)
    check("table.sort comparator", function ()
        local list = {3, 1, 2}
        table.sort(list, function (a, b) nap(); return a < b end)
        assert(table.concat(list) == "123")
    end)
    check("gsub callback", function ()
        assert(("abc"):gsub("%w", function (c) nap(); return c:upper() end) == "ABC")
    end)
    check("coroutine.wrap generator", function ()
        local gen = coroutine.wrap(function ()
            for i = 1, 3 do nap(); coroutine.yield(i) end
        end)
        assert(gen() == 1 and gen() == 2 and gen() == 3)
    end)
    check("coroutine inside pcall inside __index", function ()
        local obj = setmetatable({}, {__index = function (t, k)
            local ok, v = pcall(function ()
                local co = coroutine.create(function () nap(); coroutine.yield("y"); return "r" end)
                local _, a = coroutine.resume(co)
                local _, b = coroutine.resume(co)
                return a .. b
            end)
            return v
        end})
        assert(obj.anything == "yr")
    end)
    check("socket in pcall", function ()
        local a, b = ratchet.socket.new_pair()
        ratchet.thread.attach(function () nap(); b:send("late") end)
        local ok, data = pcall(a.recv, a)
        assert(ok and data == "late")
    end)
    check("error object through pcall after block", function ()
        local e = ratchet.error.new("x", "CODE")
        local ok, err = pcall(function () nap(); error(e) end)
        assert(not ok and rawequal(err, e))
    end)

    -- Closures survive an error caught by pcall (upvalues stay shared).
    local counter = 0
    local function bump() counter = counter + 1; return counter end
    pcall(function () local x = 1; nap(); error("boom") end)
    assert(bump() == 1 and bump() == 2 and counter == 2)

    ratchet.thread.kill(ticker)
end)
kernel:loop()
assert(results["coroutine inside pcall inside __index"])

-- A nested kernel inside a thread runs to completion, then the outer one
-- continues; kernel functions act on the kernel that runs the caller.
order = {}
kernel = ratchet.new(function ()
    ratchet.thread.attach(function () table.insert(order, "outer child") end)
    local inner = ratchet.new(function ()
        ratchet.thread.attach(function () ratchet.thread.timer(0.001); table.insert(order, "inner child") end)
        table.insert(order, "inner entry")
    end)
    inner:loop()
    table.insert(order, "inner done")
end)
kernel:loop()
assert(table.concat(order, ",") == "inner entry,inner child,inner done,outer child", table.concat(order, ","))
