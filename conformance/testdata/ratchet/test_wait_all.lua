require "ratchet"

total = 0

function adder(n)
    total = total + n
end

function ctx1()
    local threads = {}
    for i = 1, 5 do
        table.insert(threads, ratchet.thread.attach(adder, i))
    end
    ratchet.thread.wait_all(threads)
    assert(total == 15)
    total = total + 6
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx1)
end)
kernel:loop()
assert(total == 21)
