-- spec 2.2 example (fresh), run inside an entry thread.
require "ratchet"

kernel = ratchet.new(function ()
    local worker = ratchet.thread.attach(function ()
        local job = ratchet.thread.pause()      -- wait for work
        print("got", job)
    end)
    ratchet.thread.timer(0.1)
    ratchet.thread.unpause(worker, "job-42")   -- worker prints: got job-42
end)
kernel:loop()
assert(kernel:get_num_threads() == 0)
