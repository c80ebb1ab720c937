-- spec 1.6: kill and alarm end threads blocked in every kind of wait, and
-- the kernel then finishes (nothing keeps waiting for them).
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
ZMQ_PORT = tonumber(os.getenv("RATCHET_TEST_PORT2")) or 10026

reached = {}
local function blocker(name, f)
    return ratchet.thread.attach(function ()
        f()
        reached[name] = true
    end)
end

local started = os.time()
kernel = ratchet.new(function ()
    local a, b = ratchet.socket.new_pair()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    l:setsockopt("SO_REUSEADDR", true)
    l:bind(rec.addr)
    l:listen()
    local p = ratchet.exec.new({"sleep", "30"})
    p:start()
    local tfd = ratchet.timerfd.new()
    tfd:settime(30)
    local zmq = ratchet.zmqsocket.new("REP")
    zmq:bind("tcp://127.0.0.1:" .. ZMQ_PORT)

    local threads = {
        blocker("recv", function () b:recv() end),
        blocker("accept", function () l:accept() end),
        blocker("timer", function () ratchet.thread.timer(30) end),
        blocker("pause", function () ratchet.thread.pause() end),
        blocker("block_on", function () ratchet.thread.block_on({b}) end),
        blocker("multi_recv", function () ratchet.socket.multi_recv({b}) end),
        blocker("exec wait", function () p:wait() end),
        blocker("exec read", function () p:stdout():read() end),
        blocker("sigwait", function () ratchet.thread.sigwait("SIGUSR2") end),
        blocker("timerfd", function () tfd:read() end),
        blocker("zmq", function () zmq:recv() end),
        blocker("pcall recv", function () pcall(b.recv, b) end),
    }
    local waiter = ratchet.thread.attach(function ()
        ratchet.thread.wait_all(threads)
        reached.waiter = true
    end)
    ratchet.thread.timer(0.05)
    ratchet.thread.kill_all(threads)
    ratchet.thread.wait_all({waiter})
    assert(reached.waiter)

    -- The same through alarms.
    local alarmed = {
        blocker("alarm recv", function () ratchet.thread.alarm(0.01); b:recv() end),
        blocker("alarm exec", function () ratchet.thread.alarm(0.01); p:wait() end),
        blocker("alarm pcall", function () ratchet.thread.alarm(0.01); pcall(ratchet.thread.timer, 30) end),
    }
    ratchet.thread.wait_all(alarmed)
    p:kill("SIGKILL")
    p:wait()
    l:close()
end, function (err, thread)
    assert(ratchet.error.is(err, "ALARM"), tostring(err))
    reached.alarms = (reached.alarms or 0) + 1
end)
kernel:loop()
for name, _ in pairs(reached) do
    assert(name == "waiter" or name == "alarms", name .. " continued after kill")
end
assert(reached.alarms == 3)
assert(kernel:get_num_threads() == 0)
assert(os.time() - started < 20, "killed threads kept the kernel waiting")
