-- spec 5.10: numeric strings where numbers are expected, numbers where
-- strings are expected, integers by truncation.
require "ratchet"

done = false
kernel = ratchet.new(function ()
    local a, b = ratchet.socket.new_pair("1", "1", "0")
    a:send("hello")
    assert(b:recv("2") == "he")
    b:set_timeout("0.5")
    assert(b:get_timeout() == 0.5)
    assert(ratchet.socket.hton("7") == "\0\0\0\7")
    assert(ratchet.socket.hton(7.9) == "\0\0\0\7")
    assert(ratchet.socket.hton16(258.5) == "\1\2")
    assert(tostring(ratchet.socket.prepare_tcp("127.0.0.1", "25").addr) == "127.0.0.1")
    assert(ratchet.socket.prepare_tcp("127.0.0.1", 25.7))
    local s = ratchet.socket.new("2", "1", "0")
    s:setsockopt("SO_SNDBUF", "65536")
    assert(s:getsockopt("SO_SNDBUF") >= 65536)
    assert(s:bind(ratchet.socket.prepare_tcp("127.0.0.1", 0).addr))
    assert(s:listen("5"))
    assert(ratchet.socket.multi_recv({b}, "1", "2") == "ll")
    assert(ratchet.thread.block_on({b}, nil, "0") == b)
    a:send(42)
    assert(b:recv() == "o42")
    ratchet.thread.timer("0")
    ratchet.thread.alarm("100")

    local p = ratchet.exec.new({"sleep", "5"})
    p:start()
    local ok, err = pcall(p.wait, p, "0.01")
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT"), tostring(err))
    p:kill("9")
    p:wait()
    assert(ratchet.exec.new({"echo", 42}):communicate() == "42\n")

    local t = ratchet.timerfd.new()
    t:settime("0.001", "0")
    assert(t:read() == 1)

    assert(ratchet.error.new("d", nil, nil, "f.c", "5"):get_string() == "f.c:5: d")
    assert(ratchet.error.new(404):get_string() == "404")
    done = true
end)
kernel:loop()
assert(done)
