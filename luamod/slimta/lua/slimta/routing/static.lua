-- slimta.routing.static: sends every message to one fixed destination.
-- Like the original, require "slimta.routing.static" returns nothing; use
-- the global slimta.routing.static.

slimta = slimta or require "slimta"
slimta.routing = slimta.routing or {}
slimta.routing.static = slimta.routing.static or {}
local static = slimta.routing.static
static.__index = static

-- Each argument is a value or a function (message) -> value.
function static.new(relayer, host, port)
    return setmetatable({relayer = relayer, host = host, port = port or 25}, static)
end

local function value(v, message)
    if type(v) == "function" then
        return v(message)
    end
    return v
end

-- Sets dest_relayer, dest_host and dest_port and returns {message}. A nil
-- value leaves the field unset (the original raised; §6 #47).
function static:route(message)
    local env = message.envelope
    local relayer = value(self.relayer, message)
    local host = value(self.host, message)
    local port = value(self.port, message)
    if relayer ~= nil then
        env.dest_relayer = relayer
    end
    if host ~= nil then
        env.dest_host = host
    end
    if port ~= nil then
        env.dest_port = port
    end
    return {message}
end
