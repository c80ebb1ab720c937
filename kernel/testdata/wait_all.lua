require "ratchet"
total = 0
kernel = ratchet.new(function ()
    local ts = {}
    for i = 1, 5 do
        ts[i] = ratchet.thread.attach(function (n) total = total + n end, i)
    end
    assert(total == 0, "attach must not run the thread")
    local r = {ratchet.thread.wait_all(ts)}
    assert(#r == 0, "wait_all returns nothing")
    assert(total == 15)
    total = total + 6
    -- waiting on nothing still returns
    ratchet.thread.wait_all({})
end)
kernel:loop()
assert(total == 21)
