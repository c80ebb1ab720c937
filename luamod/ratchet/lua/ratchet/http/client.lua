-- ratchet.http.client: one HTTP/1.0 request on a connected socket.
-- query(method, uri [, headers [, body]]) -> code, reason, headers, body

require "ratchet"
local common = require "ratchet.http.common"

local client = {}
client.__index = client

-- Largest response read (bytes).
client.max_response = 256 * 1024 * 1024

function client.new(socket)
    return setmetatable({socket = socket}, client)
end

local function send_all(socket, data)
    repeat data = socket:send(data) until not data
end

function client:query(method, uri, headers, body)
    local socket = self.socket
    local head = common.build_head(tostring(method):upper() .. " " .. tostring(uri) .. " HTTP/1.0", headers)
    if body and #body < 65536 then
        send_all(socket, head .. body)
    else
        send_all(socket, head)
        if body then send_all(socket, body) end
    end
    local encrypted = socket:get_encryption()
    if not encrypted then
        socket:shutdown("write")
    end

    local chunks, size = {}, 0
    while true do
        local data = socket:recv()
        if data == "" then break end
        chunks[#chunks + 1] = data
        size = size + #data
        if size > self.max_response then
            break
        end
    end
    if encrypted then
        pcall(encrypted.shutdown, encrypted)
    end
    socket:close()

    return common.parse_response(table.concat(chunks))
end

ratchet.http = ratchet.http or {}
ratchet.http.client = client

return client
