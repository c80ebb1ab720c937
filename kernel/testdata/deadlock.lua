require "ratchet"
kernel = ratchet.new(function ()
    ratchet.thread.pause()
end)
local ok, err = pcall(kernel.loop, kernel)
assert(not ok and ratchet.error.is(err, "DEADLOCK"), tostring(err))
assert(err.description == "Non-IO deadlock detected.")
