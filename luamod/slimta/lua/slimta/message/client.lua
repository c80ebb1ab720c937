-- slimta.message.client: who handed a message to the edge (spec 2.11).

slimta = slimta or require "slimta"
slimta.message = slimta.message or {}
local writer = require "slimta.xml.writer"

local esc = writer.escape_text

local client = {}
client.__index = client

function client.new(protocol, ehlo, ip, security, receiver, auth_info)
    return setmetatable({
        protocol = protocol,
        ehlo = ehlo,
        ip = ip,
        security = security,
        receiver = receiver,
        auth_info = auth_info,
    }, client)
end

function client.copy(old)
    local new = {}
    for k, v in pairs(old) do
        new[k] = v
    end
    return setmetatable(new, client)
end

local fields = {"protocol", "ehlo", "ip", "security", "receiver"}

-- to_xml(client): every value is escaped (the original escaped only auth,
-- spec 6.12); a nil field is left out instead of raising, and decodes back
-- to nil.
function client.to_xml(self)
    local lines, n = {"<client>"}, 1
    for _, f in ipairs(fields) do
        local v = self[f]
        if v ~= nil then
            n = n + 1
            lines[n] = " <" .. f .. ">" .. esc(v) .. "</" .. f .. ">"
        end
    end
    if self.auth_info then
        n = n + 1
        lines[n] = " <auth>" .. esc(self.auth_info) .. "</auth>"
    end
    lines[n + 1] = "</client>"
    return lines
end

local function trim(s)
    return s:match("^%s*(.-)%s*$")
end
local has_native, native = pcall(require, "slimta.message.native")
if has_native and type(native) == "table" then
    trim = native.trim
end

-- from_xml(node): values are trimmed (the original kept only the first
-- word, spec 6.32); auth is taken verbatim.
function client.from_xml(node)
    local new = client.new()
    for _, child in ipairs(node) do
        local name = child.name
        if name == "auth" then
            new.auth_info = child.data
        elseif name == "protocol" or name == "ehlo" or name == "ip"
                or name == "security" or name == "receiver" then
            new[name] = trim(child.data or "")
        end
    end
    return new
end

local meta_fields = {"protocol", "ehlo", "ip", "security", "receiver", "auth_info"}

function client.to_meta(self, meta)
    meta = meta or {}
    for _, f in ipairs(meta_fields) do
        meta[f] = self[f]
    end
    return meta
end

function client.from_meta(meta)
    return client.new(meta.protocol, meta.ehlo, meta.ip, meta.security,
        meta.receiver, meta.auth_info)
end

slimta.message.client = client
return client
