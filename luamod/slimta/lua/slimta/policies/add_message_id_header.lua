-- slimta.policies.add_message_id_header: adds a Message-Id header to
-- messages that have none (spec 2.30, 3.8).

require "ratchet"
slimta = slimta or require "slimta"
slimta.policies = slimta.policies or {}
local uuid = require "slimta.uuid"

local add_message_id_header = {}
add_message_id_header.__index = add_message_id_header

local function local_hostname()
    local name = os.getenv("HOSTNAME")
    if not name or name == "" then
        local ok, n = pcall(ratchet.socket.gethostname)
        name = ok and n or "localhost"
    end
    return name
end

function add_message_id_header.new(hostname, random_fn, time_fn)
    return setmetatable({
        hostname = hostname or local_hostname(),
        random_fn = random_fn or uuid.generate,
        time_fn = time_fn or os.time,
    }, add_message_id_header)
end

function add_message_id_header:add(message)
    local contents = message.contents
    if not contents.headers["message-id"][1] then
        local value = "<" .. tostring(self.random_fn()) .. "." .. tostring(self.time_fn())
            .. "@" .. tostring(self.hostname) .. ">"
        contents:add_header("Message-Id", value)
    end
end

slimta.policies.add_message_id_header = add_message_id_header
return add_message_id_header
