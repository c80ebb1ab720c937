-- ratchet.bus.client: the requesting side of a socket bus, on a connected
-- socket that carries exactly one request and its response.

require "ratchet"
local frame = require "ratchet.bus.frame"

local client = {}
client.__index = client

function client.new(socket, request_to_bus, response_from_bus, from)
    return setmetatable({
        socket = socket,
        request_to_bus = request_to_bus or tostring,
        response_from_bus = response_from_bus or tostring,
        from = from,
    }, client)
end

-- Sends request (converted by request_to_bus into a main part and an
-- optional array of attachments) and returns the transaction.
function client:send_request(request)
    local main, attachments = self.request_to_bus(request)
    frame.send(self.socket, frame.encode(main, attachments))
    local client_transaction = require "ratchet.bus.client_transaction"
    return client_transaction.new(self.socket, self.response_from_bus, self.from)
end

return client
