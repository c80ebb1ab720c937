-- spec 2.7 example (fresh), inside a thread.
require "ratchet"

done = false

kernel = ratchet.new(function ()
    local p = ratchet.exec.new({"tr", "a-z", "A-Z"})
    local out, err, status = p:communicate("shout\n")
    assert(out == "SHOUT\n" and err == "" and status == 0)
    done = true
end)
kernel:loop()
assert(done)
