require "ratchet"

counter = 0

function ctx1()
    local s1, s2 = ratchet.socket.new_pair()
    ratchet.thread.attach(ctx2, s2)

    s1:send("hello")
    assert(s1:recv(5) == "world")
    assert(s1:recv() == "foo")
    s1:send("bar")
    counter = counter + 1
end

function ctx2(socket)
    assert(socket:recv(5) == "hello")
    socket:send("world")
    socket:send("foo")
    assert(socket:recv() == "bar")
    counter = counter + 1
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(counter == 2)
