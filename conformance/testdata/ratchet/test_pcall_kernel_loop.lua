require "ratchet"

waited = false

function ctx1()
    error("uh oh")
end

function ctx2(t1)
    ratchet.thread.wait_all({t1})
    waited = true
end

kernel = ratchet.new(function ()
    local t1 = ratchet.thread.attach(ctx1)
    ratchet.thread.attach(ctx2, t1)
end)

local success, err = pcall(kernel.loop, kernel)
assert(not success)
assert(err:match("uh oh"))
assert(not waited)
assert(kernel:get_num_threads() == 1)

kernel:loop()
assert(waited)
assert(kernel:get_num_threads() == 0)
