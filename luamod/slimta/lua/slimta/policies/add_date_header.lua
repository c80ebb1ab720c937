-- slimta.policies.add_date_header: adds a Date header to messages that
-- have none (spec 2.29, 3.8).

slimta = slimta or require "slimta"
slimta.policies = slimta.policies or {}

local add_date_header = {}
add_date_header.__index = add_date_header

-- RFC 5322 date in the local zone, e.g. "Fri, 13 Feb 2009 23:31:30 +0000".
function add_date_header.build_date(timestamp)
    return os.date("%a, %d %b %Y %H:%M:%S %z", timestamp)
end

function add_date_header.new(build_date)
    return setmetatable({build_date = build_date or add_date_header.build_date}, add_date_header)
end

function add_date_header:add(message)
    local contents = message.contents
    if not contents.headers.date[1] then
        contents:add_header("Date", self.build_date(tonumber(message.timestamp) or os.time()))
    end
end

slimta.policies.add_date_header = add_date_header
return add_date_header
