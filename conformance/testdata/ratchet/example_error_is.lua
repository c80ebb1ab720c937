-- spec 2.3 example (fresh): a recv that times out, caught with pcall.
require "ratchet"

caught = false

kernel = ratchet.new(function ()
    local sock, peer = ratchet.socket.new_pair()
    sock:set_timeout(0.05)
    local ok, err = pcall(function () sock:recv() end)
    if not ok and ratchet.error.is(err, "ETIMEDOUT") then
        print("slow peer: " .. err:get_string())
        caught = true
    end
end)
kernel:loop()
assert(caught)
