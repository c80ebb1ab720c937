-- ratchet.bus: request/response channels. A local bus passes objects by
-- reference between threads of one kernel; a socket bus carries one framed
-- request and one framed response per TCP connection (spec ratchet.md 2.11).

require "ratchet"

local bus = ratchet.bus or {}
ratchet.bus = bus

local new_native = require("ratchet.bus.native").new
local client = require "ratchet.bus.client"
local server = require "ratchet.bus.server"
require "ratchet.bus.client_transaction"

-- new_local() -> bus, bus (the same object serves both sides; extra
-- arguments are ignored). The local bus is native (ratchet.bus.native).
function bus.new_local()
    local b = new_native()
    return b, b
end

function bus.new_server(socket, request_from_bus, response_to_bus)
    return server.new(socket, request_from_bus, response_to_bus)
end

function bus.new_client(socket, request_to_bus, response_from_bus, from)
    return client.new(socket, request_to_bus, response_from_bus, from)
end

return bus
