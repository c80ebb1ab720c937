-- ratchet.bus.samestate: the local bus. Any number of threads may wait in
-- recv_request at once (served in arrival order); requests sent while
-- nobody waits are queued in order. Implemented in Go (ratchet.bus.native)
-- because the Lua version's per-request overhead showed in benchmarks.

require "ratchet"
local native = require "ratchet.bus.native"

local samestate = {}

-- new() -> a local bus with send_request(req) and recv_request().
function samestate.new()
    return native.new()
end

return samestate
