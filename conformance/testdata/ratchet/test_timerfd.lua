-- The original looped forever printing "fire!" every second (make check did
-- not run it); this one stops after a few expirations.
require "ratchet"

FIRES = tonumber(os.getenv("RATCHET_TEST_FIRES")) or 3

fired = 0

function ctx1()
    local tfd = ratchet.timerfd.new()
    tfd:settime(0.2, 0.2)
    while fired < FIRES do
        local n = tfd:read()
        assert(n >= 1)
        print("fire!")
        fired = fired + n
    end
    tfd:close()
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(fired >= FIRES)
