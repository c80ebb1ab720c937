-- spec 2.3 (ratchet.error) and 1.5/1.6 (errors inside threads, handler,
-- DEADLOCK, ALARM objects).
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

-- new(): fields stored as given, nil stays nil, thread nil in main.
local e = ratchet.error.new("Something broke.", "EBROKE", "my.func()", "my.c", 42, "write", 32)
assert(type(e) == "table")
assert(e.type == "ratchet_error")
assert(e.description == "Something broke.")
assert(e.code == "EBROKE")
assert(e["function"] == "my.func()")
assert(e.file == "my.c" and e.line == 42)
assert(e.syscall == "write" and e.errno == 32)
assert(e.thread == nil)
assert(getmetatable(e) == getmetatable(ratchet.error.new("other")))
local plain = ratchet.error.new("Just text.")
assert(plain.code == nil and plain["function"] == nil and plain.file == nil)
assert(plain.line == nil and plain.syscall == nil and plain.errno == nil)
local zero = ratchet.error.new("Zeroes.", nil, nil, "z.c", 0, nil, 0)
assert(zero.line == 0 and zero.errno == 0, "0 is stored as given")
assert(not pcall(ratchet.error.new))
assert(not pcall(ratchet.error.new, {}))

-- is(): raw equality for strings/numbers, code for error objects.
assert(ratchet.error.is(e, "EBROKE") == true)
assert(ratchet.error.is(e, "OTHER") == false)
assert(e:is("EBROKE") == true)
assert(ratchet.error.is("ETIMEDOUT", "ETIMEDOUT") == true)
assert(ratchet.error.is("x", "y") == false)
assert(ratchet.error.is(5, 5) == true)
assert(ratchet.error.is({code = "X"}, "X") == false)
assert(ratchet.error.is({type = "ratchet_error", code = "X"}, "X") == true)
assert(ratchet.error.is(nil, "X") == false)
assert(ratchet.error.is(false, "X") == false)

-- get_string() and tostring().
assert(e:get_string() == "my.func(): Something broke.")
assert(ratchet.error.new("D.", nil, nil, "f.c", 7):get_string() == "f.c:7: D.")
assert(plain:get_string() == "Just text.")
assert(ratchet.error.get_string(e) == "my.func(): Something broke.")
assert(tostring(e) == "my.func(): Something broke.", "no traceback without a thread")

-- Inside a thread: thread field, tostring appends that thread's traceback.
kernel = ratchet.new(function ()
    local te = ratchet.error.new("In a thread.", "CODE", "f()")
    assert(te.thread == ratchet.thread.self())
    local s = tostring(te)
    assert(s:match("^f%(%): In a thread%.\nstack traceback:"), s)
end)
kernel:loop()

-- OS errors: strerror text, symbolic code, function, syscall, errno.
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    local ok, err = pcall(s.connect, s, rec.addr)
    assert(not ok)
    assert(type(err) == "table" and err.type == "ratchet_error", tostring(err))
    assert(err.code == "ECONNREFUSED", tostring(err.code))
    assert(err.description == "Connection refused", err.description)
    assert(err["function"] == "ratchet.socket.connect()", tostring(err["function"]))
    assert(err.syscall == "connect", tostring(err.syscall))
    assert(err.errno == 111)
    assert(err.thread == ratchet.thread.self())
    assert(err:get_string() == "ratchet.socket.connect(): Connection refused")

    -- EAGAIN is reported as EWOULDBLOCK; a timeout has no errno.
    s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:set_timeout(0.01)
    local a, b = ratchet.socket.new_pair()
    a:set_timeout(0)
    ok, err = pcall(a.recv, a)
    assert(not ok and err.code == "ETIMEDOUT" and err.description == "Timed out on recv.")
    assert(err["function"] == "ratchet.socket.recv()", tostring(err["function"]))
    assert(err.errno == nil)
end)
kernel:loop()

-- Handler gets (err, thread): same value, the attached coroutine, and may
-- traceback the dead thread.
got = {}
kernel = ratchet.new(function ()
    local tbl = {custom = true}
    got.tbl = tbl
    got.t1 = ratchet.thread.attach(function () error(tbl) end)
    got.t2 = ratchet.thread.attach(function () local function inner() error("deep failure") end inner() end)
    got.t3 = ratchet.thread.attach(function () error(ratchet.error.new("obj", "OBJ")) end)
end, function (err, thread)
    table.insert(got, {err = err, thread = thread})
    local tb = debug.traceback(thread, tostring(err), 2)
    assert(type(tb) == "string", "traceback of a dead thread")
    if tostring(err):match("deep failure") then
        got.tb = debug.traceback(thread, tostring(err))
    end
    assert(ratchet.thread.self() == nil, "the handler runs in main")
end)
kernel:loop()
assert(#got == 3)
assert(got[1].err == got.tbl and got[1].thread == got.t1)
assert(type(got[2].err) == "string" and got[2].err:match("^.-check_errors%.lua:%d+: deep failure$"), got[2].err)
assert(got[2].thread == got.t2)
assert(got.tb:match("^.-deep failure\nstack traceback:\n"), got.tb)
assert(got.tb:match("inner"), "the traceback shows the failed thread's frames:\n" .. got.tb)
assert(ratchet.error.is(got[3].err, "OBJ") and got[3].thread == got.t3)

-- Without a handler the value escapes loop() unchanged.
local tbl = {}
kernel = ratchet.new(function () error(tbl) end)
local ok, err = pcall(kernel.loop, kernel)
assert(not ok and err == tbl)
kernel = ratchet.new(function () error("plain", 0) end)
ok, err = pcall(kernel.loop, kernel)
assert(not ok and err == "plain")
kernel = ratchet.new(function () error() end)
ok, err = pcall(kernel.loop, kernel)
assert(not ok and err == nil)

-- A failing handler propagates out of loop().
kernel = ratchet.new(function () error("first") end, function (err) error("handler broke", 0) end)
ok, err = pcall(kernel.loop, kernel)
assert(not ok and err == "handler broke")

-- An error after a wake-up leaves the kernel usable.
done = false
kernel = ratchet.new(function ()
    ratchet.thread.attach(function () ratchet.thread.timer(0.01); error("after timer") end)
    ratchet.thread.attach(function () ratchet.thread.timer(0.05); done = true end)
end)
ok, err = pcall(kernel.loop, kernel)
assert(not ok and err:match("after timer"))
kernel:loop()
assert(done)

-- DEADLOCK: every live thread paused.
kernel = ratchet.new(function () ratchet.thread.pause() end)
ok, err = pcall(kernel.loop, kernel)
assert(not ok)
assert(ratchet.error.is(err, "DEADLOCK"), tostring(err))
assert(err.description == "Non-IO deadlock detected.")
assert(err["function"] == "ratchet.loop_once()")
assert(kernel:get_num_threads() == 1)
kernel = ratchet.new(function () ratchet.thread.block_on({}) end)
ok, err = pcall(kernel.loop_once, kernel)
assert(ok)
ok, err = pcall(kernel.loop_once, kernel, true)
assert(not ok and ratchet.error.is(err, "DEADLOCK"), tostring(err))

-- ALARM object fields; the handler gets it once; callbacks see no arguments.
reports = {}
cb_args = nil
kernel = ratchet.new(function ()
    got.alarmed = ratchet.thread.attach(function ()
        ratchet.thread.alarm(0.01, function (...) cb_args = select("#", ...) end)
        ratchet.thread.pause()
    end)
end, function (err, thread)
    table.insert(reports, {err = err, thread = thread})
end)
kernel:loop()
assert(#reports == 1)
local a = reports[1].err
assert(ratchet.error.is(a, "ALARM"))
assert(a.description == "Thread alarm!")
assert(a["function"] == "ratchet.thread.alarm()")
assert(a.thread == got.alarmed and reports[1].thread == got.alarmed)
assert(cb_args == 0)

-- No handler: the ALARM object escapes loop().
kernel = ratchet.new(function ()
    ratchet.thread.alarm(0)
    ratchet.thread.timer(5)
end)
ok, err = pcall(kernel.loop, kernel)
assert(not ok and ratchet.error.is(err, "ALARM"), tostring(err))
assert(kernel:get_num_threads() == 0)

-- Re-arming replaces the alarm; finishing cancels it.
reports = {}
kernel = ratchet.new(function ()
    ratchet.thread.attach(function ()
        ratchet.thread.alarm(0.01)
        ratchet.thread.alarm(10)
        ratchet.thread.timer(0.05)
    end)
    ratchet.thread.attach(function ()
        ratchet.thread.alarm(0.02)
    end)
    ratchet.thread.timer(0.1)
end, function (err, thread)
    table.insert(reports, err)
end)
kernel:loop()
assert(#reports == 0, tostring(reports[1]))
