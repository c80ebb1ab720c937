-- test_socketpair
require "ratchet"

local count = 0
kernel = ratchet.new(function ()
    local a, b = ratchet.socket.new_pair()
    assert(a:get_timeout() == -1 and b:get_timeout() == -1)
    ratchet.thread.attach(function (s)
        s:send("hello")
        assert(s:recv(5) == "world")
        assert(s:recv() == "foo")
        s:send("bar")
        count = count + 1
    end, b)
    assert(a:recv(5) == "hello")
    a:send("world")
    a:send("foo")
    assert(a:recv() == "bar")
    count = count + 1
end)
kernel:loop()
assert(count == 2)
