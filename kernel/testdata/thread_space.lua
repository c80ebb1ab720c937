require "ratchet"
local n = 0
kernel = ratchet.new(function ()
    ratchet.thread.attach(function ()
        ratchet.thread.space().stuff = "data"
        ratchet.thread.timer(0)
        assert(ratchet.thread.space().stuff == "data")
        assert(ratchet.thread.space().other_stuff == nil)
        n = n + 1
    end)
    ratchet.thread.attach(function ()
        ratchet.thread.space().other_stuff = "data"
        ratchet.thread.timer(0)
        assert(ratchet.thread.space().other_stuff == "data")
        assert(ratchet.thread.space().stuff == nil)
        n = n + 1
    end)
    ratchet.thread.attach(function ()
        ratchet.thread.space({premade_stuff = "important"})
        assert(ratchet.thread.space({ignored = true}).premade_stuff == "important")
        assert(kernel:get_space(ratchet.thread.self()).premade_stuff == "important")
        n = n + 1
    end)
end)
kernel:loop()
assert(n == 3)
