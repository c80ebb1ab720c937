-- Seed snippet 1 (verbatim): entry thread + loop.
require "ratchet"
require "slimta"

local kernel = ratchet.new(function ()
    -- This is the entry thread...
    -- Attach additional threads, make blocking socket calls, etc.
end)
kernel:loop()
