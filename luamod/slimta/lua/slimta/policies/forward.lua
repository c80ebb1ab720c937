-- slimta.policies.forward: rewrites envelope recipients with Lua patterns
-- (spec 2.32). mapping = array of {pattern = P, repl = R [, n = N]}; the
-- first entry whose string.gsub makes at least one substitution wins.

slimta = slimta or require "slimta"
slimta.policies = slimta.policies or {}

local forward = {}
forward.__index = forward

function forward.new(mapping)
    return setmetatable({mapping = mapping or {}}, forward)
end

function forward:map_address(address)
    for _, entry in ipairs(self.mapping) do
        local result, count
        if entry.n ~= nil then
            result, count = string.gsub(address, entry.pattern, entry.repl, entry.n)
        else
            result, count = string.gsub(address, entry.pattern, entry.repl)
        end
        if count > 0 then
            return result
        end
    end
    return address
end

function forward:map(message)
    local rcpts = message.envelope.recipients
    for i, r in ipairs(rcpts) do
        rcpts[i] = self:map_address(r)
    end
end

slimta.policies.forward = forward
return forward
