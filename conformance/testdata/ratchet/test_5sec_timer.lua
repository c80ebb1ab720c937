-- The original file called ratchet.attach and ratchet.timer, which never
-- existed (it failed at once and make check did not run it); this is the
-- same test with the ratchet.thread functions it meant.
require "ratchet"

SECONDS = tonumber(os.getenv("RATCHET_TEST_TIMER")) or 5.0

done = false

function ctx1()
    local before = os.time()
    ratchet.thread.timer(SECONDS)
    assert(os.time() - before >= math.floor(SECONDS) - 1)
    done = true
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(ctx1)
end)
kernel:loop()
assert(done)
