require "ratchet"

counter = 0

function ctx1()
    local data = ratchet.thread.pause()
    assert(data == "beep beep")
    ratchet.thread.unpause(t2, "boop boop")
    counter = counter + 1
end

function ctx2()
    ratchet.thread.unpause(t1, "beep beep")
    local data = ratchet.thread.pause()
    assert(data == "boop boop")
    counter = counter + 1
end

kernel = ratchet.new(function ()
    t1 = ratchet.thread.attach(ctx1)
    t2 = ratchet.thread.attach(ctx2)
end)
kernel:loop()
assert(counter == 2)
