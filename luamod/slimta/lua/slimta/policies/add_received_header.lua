-- slimta.policies.add_received_header: prepends a Received trace header
-- (spec 2.31, 3.8):
--   from EHLO (HOST [IP]PORT) by RECEIVER (slimta VERSION) with PROTOCOL
--   [id ID] for <R1>,<R2>; DATE

slimta = slimta or require "slimta"
slimta.policies = slimta.policies or {}

local add_received_header = {}
add_received_header.__index = add_received_header

add_received_header.default_format = "%a, %d %b %Y %H:%M:%S %z"

function add_received_header.new(date_format, use_utc)
    return setmetatable({date_format = date_format or add_received_header.default_format,
                         use_utc = use_utc and true or false}, add_received_header)
end

function add_received_header:build_date(timestamp)
    local fmt = self.date_format
    if self.use_utc then
        -- C's strftime prints +0000 for %z of a UTC time; do not depend
        -- on the platform for it
        fmt = "!" .. fmt:gsub("%%z", "+0000")
    end
    return os.date(fmt, timestamp)
end

-- Values that come from the network may not break the header apart.
local function clean(s)
    s = tostring(s)
    if s:find("[%c]") then
        s = s:gsub("%c", "")
    end
    return s
end

function add_received_header:build(message)
    local client = message.client or {}
    local envelope = message.envelope or {}
    local parts = {
        "from ", clean(client.ehlo or "[]"),
        " (", clean(client.host or "unknown"), " [", clean(client.ip or "unknown"), "]",
        client.port and (":" .. clean(client.port)) or "", ")",
        " by ", clean(client.receiver or "unknown"),
        " (slimta ", tostring(slimta.version), ")",
        " with ", clean(client.protocol or "unknown"),
    }
    if message.id then
        parts[#parts + 1] = " id " .. clean(message.id)
    end
    local rcpts = {}
    for i, r in ipairs(envelope.recipients or {}) do
        rcpts[i] = clean(r)
    end
    parts[#parts + 1] = " for <" .. table.concat(rcpts, ">,<") .. ">; "
    parts[#parts + 1] = self:build_date(tonumber(message.timestamp) or os.time())
    return table.concat(parts)
end

function add_received_header:add(message)
    message.contents:add_header("Received", self:build(message))
end

slimta.policies.add_received_header = add_received_header
return add_received_header
