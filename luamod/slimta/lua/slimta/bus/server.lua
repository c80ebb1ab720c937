-- slimta.bus.server: the receiving end of a TCP bus (spec 2.9.3). Each
-- connection carries one framed request (spec 3.1) whose first part is a
-- <requests> document (spec 3.2); the answer is a <responses> document on
-- the same connection, which is then closed.

require "ratchet"
slimta = slimta or require "slimta"
slimta.bus = slimta.bus or {}
local rbus = require "ratchet.bus"
if type(rbus) ~= "table" then
    rbus = ratchet.bus
end
local reader = require "slimta.xml.reader"
local writer = require "slimta.xml.writer"

local server = {}
server.__index = server

local transaction = {}
transaction.__index = transaction

-- Seconds the peer may take to accept the response (spec 6.4 #30); requests
-- are received by ratchet's bus, which multiplexes connections so that a
-- slow peer does not hold up the others. nil or negative disables it.
server.default_timeout = 60.0

function server.new(host, port, request_type)
    return setmetatable({host = host, port = port, request_type = request_type,
                         timeout = server.default_timeout}, server)
end

-- decode_request(data, attachments, request_type [, peer]) -> array of
-- items. Raises on anything but a single <requests> root.
function server.decode_request(data, attachments, request_type, peer)
    local root = reader.new():parse_xml(data)
    if #root ~= 1 or root[1].name ~= "requests" then
        error("bus request document must have a single <requests> root", 0)
    end
    -- slimta.message.from_xml's third parameter is force_id: the peer must
    -- not become the message id (spec 6.4 #28).
    local message = package.loaded["slimta.message"]
    if message and (request_type == message or request_type.from_xml == message.from_xml) then
        peer = nil
    end
    local items = {}
    for i, node in ipairs(root[1]) do
        local item = request_type.from_xml(node, attachments, peer)
        if item == nil then
            error("bus request item " .. i .. " <" .. tostring(node.name) .. "> could not be decoded", 0)
        end
        items[i] = item
    end
    return items
end

-- encode_responses(responses) -> xml, attachments (the <responses> document).
function server.encode_responses(responses)
    local w = writer.new()
    for _, r in ipairs(responses) do
        w:add_item(r)
    end
    return w:build({"responses"})
end

local function escape_attr(s)
    return writer.escape_attr(s)
end

-- The converters given to ratchet's socket bus never raise and never
-- return nil (either would stall or kill the bus, spec 6.4 #29).
local function make_request_from_bus(self)
    return function (data, attachments, from)
        local ok, items = pcall(server.decode_request, data or "", attachments or {}, self.request_type, from)
        if ok then
            return {items = items, from = from}
        end
        return {malformed = tostring(items), from = from}
    end
end

local function response_to_bus(responses)
    if type(responses) == "table" and responses.malformed_request then
        return '<responses error="' .. escape_attr(responses.malformed_request) .. '"/>\r\n', {}
    end
    return server.encode_responses(responses)
end

function server:listen()
    local rec = ratchet.socket.prepare_tcp(self.host, self.port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()
    self.socket = sock
    self.bus = rbus.new_server(sock, make_request_from_bus(self), response_to_bus)
end

function server:close()
    if self.socket then
        self.socket:close()
        self.socket, self.bus = nil, nil
    end
end

local function log(msg)
    io.stderr:write("slimta.bus.server: ", msg, "\n")
end

-- recv_request() -> transaction, requests (or nil, err if waiting on the
-- sockets failed). A malformed request is answered with an error document
-- and logged; the loop then waits for the next request.
function server:recv_request()
    if not self.bus then
        self:listen()
    end
    while true do
        local t, req = self.bus:recv_request()
        if not t then
            return nil, req
        end
        local sock = rawget(t, "socket")
        if sock and self.timeout then
            pcall(sock.set_timeout, sock, self.timeout)
        end
        if type(req) == "table" and req.items then
            return setmetatable({transaction = t, from = req.from, server = self}, transaction), req.items
        end
        local why = type(req) == "table" and req.malformed or "no request"
        log("malformed request from " .. tostring(t.from or (type(req) == "table" and req.from)) .. ": " .. tostring(why))
        local ok, err = pcall(t.send_response, t, {malformed_request = why})
        if not ok then
            log("could not answer: " .. tostring(err))
        end
    end
end

-- send_response(responses) writes the <responses> document and closes the
-- connection. Returns true, or nil and the error when the peer is gone.
function transaction:send_response(responses)
    local ok, err = pcall(self.transaction.send_response, self.transaction, responses)
    if not ok then
        log("could not send response: " .. tostring(err))
        return nil, err
    end
    return true
end

slimta.bus.server = server
return server
