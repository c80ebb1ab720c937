-- ratchet.bus.samestate_transaction: one request on a local bus. The
-- response may be any value, false and nil included.

require "ratchet"

local samestate_transaction = {}
samestate_transaction.__index = samestate_transaction

function samestate_transaction.new(request)
    return setmetatable({request = request, responded = false, waiting = {}}, samestate_transaction)
end

function samestate_transaction:send_response(response)
    self.response = response
    self.responded = true
    local waiting = self.waiting
    self.waiting = {}
    for _, thread in ipairs(waiting) do
        pcall(ratchet.thread.unpause, thread)
    end
end

function samestate_transaction:recv_response()
    if not self.responded then
        table.insert(self.waiting, ratchet.thread.self())
        ratchet.thread.pause()
    end
    return self.response
end

return samestate_transaction
