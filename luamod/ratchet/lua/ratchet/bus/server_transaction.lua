-- ratchet.bus.server_transaction: answers one socket bus request and
-- closes its connection.

require "ratchet"
local frame = require "ratchet.bus.frame"

local server_transaction = {}
server_transaction.__index = server_transaction

function server_transaction.new(socket, response_to_bus, from)
    return setmetatable({
        socket = socket,
        response_to_bus = response_to_bus or tostring,
        from = from,
    }, server_transaction)
end

function server_transaction:send_response(response)
    local main, attachments = self.response_to_bus(response)
    local ok, err = pcall(frame.send, self.socket, frame.encode(main, attachments))
    self.socket:close()
    if not ok then
        error(err, 0)
    end
end

return server_transaction
