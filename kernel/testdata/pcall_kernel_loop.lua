require "ratchet"
local first
kernel = ratchet.new(function ()
    first = ratchet.thread.attach(function () error("uh oh") end)
    ratchet.thread.attach(function ()
        ratchet.thread.wait_all({first})
        waited = true
    end)
end)
local ok, err = pcall(kernel.loop, kernel)
assert(not ok and type(err) == "string" and err:match("uh oh"), tostring(err))
assert(err:match("^.-pcall_kernel_loop.lua:4: uh oh"), err)
assert(not waited)
assert(kernel:get_num_threads() == 1, kernel:get_num_threads())
kernel:loop()
assert(waited)
assert(kernel:get_num_threads() == 0)
