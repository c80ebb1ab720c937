-- 10,000 threads that each sleep and finish.
require "ratchet"
local done = 0
kernel = ratchet.new(function ()
    for i = 1, 10000 do
        ratchet.thread.attach(function () ratchet.thread.timer(0.01); done = done + 1 end)
    end
end)
kernel:loop()
assert(done == 10000)
assert(kernel:get_num_threads() == 0)
