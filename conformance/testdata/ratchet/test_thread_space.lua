require "ratchet"

counter = 0

function ctx1()
    ratchet.thread.space().stuff = "data"
    ratchet.thread.timer(0.0)
    local space = ratchet.thread.space()
    assert(space.stuff == "data")
    assert(space.other_stuff == nil)
    counter = counter + 1
end

function ctx2()
    ratchet.thread.space().other_stuff = "other data"
    ratchet.thread.timer(0.0)
    local space = ratchet.thread.space()
    assert(space.other_stuff == "other data")
    assert(space.stuff == nil)
    counter = counter + 1
end

function ctx3()
    ratchet.thread.space({premade_stuff = "important"})
    ratchet.thread.timer(0.0)
    assert(ratchet.thread.space().premade_stuff == "important")
    assert(ratchet.thread.space({premade_stuff = "ignored"}).premade_stuff == "important")
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx1)
    ratchet.thread.attach(ctx2)
    ratchet.thread.attach(ctx3)
end)
kernel:loop()
assert(counter == 3)
