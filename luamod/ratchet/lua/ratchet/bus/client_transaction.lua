-- ratchet.bus.client_transaction: waits for the response of one socket bus
-- request, then closes the connection.

require "ratchet"
local frame = require "ratchet.bus.frame"

local client_transaction = {}
client_transaction.__index = client_transaction

function client_transaction.new(socket, response_from_bus, from)
    return setmetatable({
        socket = socket,
        response_from_bus = response_from_bus or tostring,
        from = from,
    }, client_transaction)
end

-- Reads the response message and closes the socket. Returns the converted
-- response, or nothing when the server closed before a whole message came.
function client_transaction:recv_response()
    if self.done then
        return self.response
    end
    local parser = frame.new()
    local complete = false
    while true do
        local data = self.socket:recv()
        if data == "" then break end
        local ok = parser:feed(data)
        if ok == nil then break end
        if ok then
            complete = true
            break
        end
    end
    self.socket:close()
    self.done = true
    if not complete then
        return
    end
    local main, attachments = parser:result()
    local convert = self.response_from_bus
    if convert == tonumber then
        -- tonumber's second argument is a base: give it the main part only
        self.response = tonumber(main)
    else
        self.response = convert(main, attachments, self.from)
    end
    return self.response
end

ratchet.bus = ratchet.bus or {}
ratchet.bus.client_transaction = client_transaction

return client_transaction
