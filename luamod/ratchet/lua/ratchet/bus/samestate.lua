-- ratchet.bus.samestate: the local bus. Any number of threads may wait in
-- recv_request at once (served in arrival order); requests sent while
-- nobody waits are queued in order.

require "ratchet"
local samestate_transaction = require "ratchet.bus.samestate_transaction"

local samestate = {}
samestate.__index = samestate

function samestate.new()
    return setmetatable({queue = {}, waiting = {}}, samestate)
end

-- Hands t to the oldest parked receiver that can still take it.
local function wake_one(waiting, ...)
    while #waiting > 0 do
        local thread = table.remove(waiting, 1)
        if pcall(ratchet.thread.unpause, thread, ...) then
            return true
        end
    end
    return false
end
samestate.wake_one = wake_one

function samestate:send_request(request)
    local transaction = samestate_transaction.new(request)
    if not wake_one(self.waiting, transaction) then
        table.insert(self.queue, transaction)
    end
    return transaction
end

function samestate:recv_request()
    local transaction = table.remove(self.queue, 1)
    if not transaction then
        table.insert(self.waiting, ratchet.thread.self())
        transaction = ratchet.thread.pause()
    end
    return transaction, transaction.request
end

return samestate
