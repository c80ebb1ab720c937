-- ratchet.http.server: one HTTP/1.0 exchange on an accepted socket.
-- new(socket, from, handlers); handle() (or calling the object) reads one
-- request, calls handlers:METHOD(uri, headers, body, from) and writes the
-- returned {code, message, headers, data} as an HTTP/1.0 response.

require "ratchet"
local common = require "ratchet.http.common"

local server = {}
server.__index = server

-- Limits (bytes); a server object may override them before handle().
server.max_head = 64 * 1024
server.max_body = 64 * 1024 * 1024

function server.new(socket, from, handlers)
    return setmetatable({socket = socket, from = from, handlers = handlers or {}}, server)
end

local function send_all(socket, data)
    repeat data = socket:send(data) until not data
end

local function respond(self, code, message, headers, data)
    local head = common.build_head("HTTP/1.0 " .. tostring(code) .. " " .. tostring(message), headers)
    if data ~= nil then
        data = tostring(data)
        if #data < 65536 then
            send_all(self.socket, head .. data)
        else
            send_all(self.socket, head)
            send_all(self.socket, data)
        end
    else
        send_all(self.socket, head)
    end
end

local function finish(self)
    pcall(self.socket.shutdown, self.socket, "both")
    self.socket:close()
end

-- Reads the request head and body. Returns the request table and body, or
-- nil plus an HTTP error code to answer with (or nil alone: nothing to do).
local function read_request(self)
    local socket = self.socket
    local chunks, size = {}, 0
    local req
    while true do
        local data = socket:recv()
        if data == "" then
            if size == 0 then return nil end
            req = common.parse_request(table.concat(chunks), self.max_head)
            if not req then
                error("Malformed HTTP session.", 0)
            end
            break
        end
        chunks[#chunks + 1] = data
        size = size + #data
        local buf = table.concat(chunks)
        chunks = {buf}
        local status
        req, status = common.parse_request(buf, self.max_head)
        if req then break end
        if status == "malformed" then
            pcall(respond, self, 400, "Bad Request")
            finish(self)
            error("Malformed HTTP session.", 0)
        elseif status == "too large" then
            return nil, 431, "Request Header Fields Too Large"
        end
    end
    local buf = table.concat(chunks)
    local body_parts = {buf:sub(req.head_length + 1)}
    local have = #body_parts[1]
    local headers = req.headers
    local length = tonumber(headers["content-length"][1])
    if #headers["transfer-encoding"] > 0 then
        return nil, 411, "Length Required"
    end
    if length then
        if length < 0 or length > self.max_body then
            return nil, 413, "Request Entity Too Large"
        end
        if have < length and req.version == "1.1" then
            for _, v in ipairs(headers["expect"]) do
                if v:lower() == "100-continue" then
                    send_all(socket, "HTTP/1.1 100 Continue\r\n\r\n")
                end
            end
        end
        while have < length do
            local data = socket:recv()
            if data == "" then break end
            body_parts[#body_parts + 1] = data
            have = have + #data
        end
    end
    local body = table.concat(body_parts)
    if length and #body > length then
        body = body:sub(1, length)
    end
    if body == "" and not length then
        body = nil
    end
    pcall(socket.shutdown, socket, "read")
    return req, body
end

function server:handle()
    local req, body_or_code, message = read_request(self)
    if not req then
        if body_or_code then
            pcall(respond, self, body_or_code, message)
        end
        finish(self)
        return
    end
    local response
    if req.version ~= "1.0" and req.version ~= "1.1" then
        -- other versions are refused whatever the handler (defect 4.18)
        response = {code = 505, message = "Version Not Supported"}
    else
        -- The original's default for anything but 1.0 is 505; a handler
        -- answers 1.1 requests too (every ordinary client sends 1.1).
        if req.version == "1.0" then
            response = {code = 501, message = "Not Implemented"}
        else
            response = {code = 505, message = "Version Not Supported"}
        end
        local handler = self.handlers[req.method]
        if handler then
            response = handler(self.handlers, req.uri, req.headers, body_or_code, self.from)
            if type(response) ~= "table" then
                response = {code = 500, message = "Internal Server Error"}
            end
        end
    end
    local ok, err = pcall(respond, self, response.code, response.message, response.headers, response.data)
    finish(self)
    if not ok then error(err, 0) end
end

server.__call = server.handle

ratchet.http = ratchet.http or {}
ratchet.http.server = server

return server
