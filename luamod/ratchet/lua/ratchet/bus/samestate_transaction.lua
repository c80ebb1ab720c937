-- ratchet.bus.samestate_transaction: one request on a local bus. The
-- response may be any value, false and nil included. Implemented in Go
-- (ratchet.bus.native): fields request, response and responded, methods
-- send_response(res) and recv_response().

require "ratchet"
local native = require "ratchet.bus.native"

local samestate_transaction = {}

function samestate_transaction.new(request)
    return native.new_transaction(request)
end

return samestate_transaction
