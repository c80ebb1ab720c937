-- slimta.bus.client: the sending end of a TCP bus (spec 2.9.4). Every
-- request opens a new connection, sends a framed <requests> document
-- (spec 3.1, 3.2) and reads the <responses> document back.

require "ratchet"
slimta = slimta or require "slimta"
slimta.bus = slimta.bus or {}
local rbus = require "ratchet.bus"
if type(rbus) ~= "table" then
    rbus = ratchet.bus
end
local reader = require "slimta.xml.reader"
local writer = require "slimta.xml.writer"

local client = {}
client.__index = client

local transaction = {}
transaction.__index = transaction

-- Timeouts in seconds (spec 6.4 #30): connecting and sending, then waiting
-- for the whole response (which comes only after the far side handled the
-- request, e.g. relayed it). nil or negative disables them.
client.default_connect_timeout = 30.0
client.default_response_timeout = 600.0

function client.new(host, port, response_type)
    return setmetatable({host = host, port = port, response_type = response_type,
                         connect_timeout = client.default_connect_timeout,
                         response_timeout = client.default_response_timeout}, client)
end

function client:set_timeouts(connect, response)
    self.connect_timeout, self.response_timeout = connect, response
end

function client.encode_requests(requests)
    local w = writer.new()
    for _, r in ipairs(requests) do
        w:add_item(r)
    end
    return w:build({"requests"})
end

-- decode_response(data, attachments, response_type) -> array, or raises.
-- A server that could not decode the request answers <responses error=...>.
function client.decode_response(data, attachments, response_type)
    local root = reader.new():parse_xml(data)
    if #root ~= 1 or root[1].name ~= "responses" then
        error("bus response document must have a single <responses> root", 0)
    end
    local err = root[1].attrs and root[1].attrs.error
    if err then
        error("bus server rejected the request: " .. err, 0)
    end
    local items = {}
    for i, node in ipairs(root[1]) do
        local item = response_type.from_xml(node, attachments)
        if item == nil then
            error("bus response item " .. i .. " could not be decoded", 0)
        end
        items[i] = item
    end
    return items
end

local function set_timeout(sock, t)
    sock:set_timeout(t or -1)
end

function client:send_request(requests)
    local rec = ratchet.socket.prepare_tcp(self.host, self.port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    set_timeout(sock, self.connect_timeout)
    sock:connect(rec.addr)
    local response_type = self.response_type
    local function response_from_bus(data, attachments)
        if data == nil then
            return {failed = "connection closed before the response"}
        end
        local ok, items = pcall(client.decode_response, data, attachments or {}, response_type)
        if ok then
            return {items = items}
        end
        return {failed = tostring(items)}
    end
    local b = rbus.new_client(sock, client.encode_requests, response_from_bus)
    local t = b:send_request(requests)
    return setmetatable({transaction = t, socket = sock, client = self}, transaction)
end

-- recv_response() -> responses, or nil and a message when the connection
-- closed early, timed out or the answer could not be decoded.
function transaction:recv_response()
    set_timeout(self.socket, self.client.response_timeout)
    local ok, res = pcall(self.transaction.recv_response, self.transaction)
    if not ok then
        pcall(self.socket.close, self.socket)
        return nil, res
    end
    if type(res) ~= "table" then
        return nil, "connection closed before the response"
    end
    if res.items then
        return res.items
    end
    return nil, res.failed
end

slimta.bus.client = client
return client
