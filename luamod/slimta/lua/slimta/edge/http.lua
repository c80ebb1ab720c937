-- slimta.edge.http: receives messages over HTTP (spec 2.17, 3.5).
--
--   POST /email HTTP/1.0
--   X-Ehlo: client.example.net
--   X-Sender: alice@example.net
--   X-Recipient: bob@example.org          (one header per recipient)
--   Content-Type: message/rfc822
--   Content-Length: N
--
-- The message is sent as {message} on the edge's bus; the first response
-- becomes the HTTP status (slimta.message.response:as_http()).

require "ratchet"
slimta = slimta or require "slimta"
require "slimta.edge"
require "slimta.message"
local http_server = require "ratchet.http.server"
if type(http_server) ~= "table" then
    http_server = ratchet.http.server
end
local relay_policy = require "slimta.edge.relay_policy"

local http = {}
http.__index = http

local local_hostname = slimta.edge.hostname

function http.new(socket, bus)
    return setmetatable({socket = socket, bus = bus, relay_policy = relay_policy.new()}, http)
end

-- set_timeout(seconds): socket timeout of each accepted connection.
function http:set_timeout(seconds)
    self.timeout = seconds
end

-- Anti-relay settings (POLICY.md): set_trusted_networks,
-- set_local_domains, set_open_relay.
slimta.edge.add_relay_settings(http)

-- accept() -> callable handling one HTTP connection (ratchet's server with
-- this edge as its method table).
function http:accept()
    local client, from = self.socket:accept()
    if self.timeout then
        client:set_timeout(self.timeout)
    end
    return http_server.new(client, tostring(from), self)
end

function http:close()
    return self.socket:close()
end

local function trim(s)
    return (tostring(s):match("^%s*(.-)%s*$"))
end

-- values(headers, lname): ratchet's parsed headers answer lower-case
-- names; a plain table given by a script calling POST directly may use any
-- case ({["X-Sender"] = {...}}), so fall back to a case-blind search.
local function values(headers, lname)
    local v = headers[lname]
    if type(v) == "table" and v[1] ~= nil then
        return v
    end
    for k, vs in pairs(headers) do
        if type(k) == "string" and k:lower() == lname and type(vs) == "table" then
            return vs
        end
    end
    return {}
end

local function first(headers, name)
    local v = values(headers, name)[1]
    if v ~= nil then
        return trim(v)
    end
end

function http:POST(uri, headers, body, from)
    if uri ~= "/email" and uri ~= "/email/" then
        return {code = 404, message = "Not Found"}
    end
    local ctype = first(headers, "content-type")
    if not ctype or not ctype:lower():find("^message/rfc822") then
        return {code = 406, message = "Not Acceptable", headers = {Accept = {"message/rfc822"}}}
    end
    if body == nil then
        return {code = 411, message = "Length Required"}
    end
    local sender = first(headers, "x-sender")
    if not sender then
        return {code = 400, message = "Missing X-Sender header"}
    end
    local recipients = {}
    for _, r in ipairs(values(headers, "x-recipient")) do
        recipients[#recipients + 1] = trim(r)
    end
    if #recipients == 0 then
        return {code = 400, message = "Missing X-Recipient header"}
    end
    local ip = tostring(from)
    for _, r in ipairs(recipients) do
        if not self.relay_policy:allows(ip, false, r) then
            return {code = 403, message = "Relay access denied"}
        end
    end
    local ehlo = first(headers, "x-ehlo") or "none"
    local m = slimta.message
    local client = m.client.new("HTTP", ehlo, ip, "none", local_hostname())
    local envelope = m.envelope.new(sender, recipients)
    local contents = m.contents.new(body)
    if sender ~= "" and not contents.headers.from[1] then
        contents:add_header("From", sender)
    end
    local msg = m.new(client, envelope, contents, os.time())
    local responses = self.bus:send_request({msg}):recv_response()
    local r = type(responses) == "table" and responses[1]
    if not r then
        return {code = 503, message = "Message could not be queued"}
    end
    return r:as_http()
end

function http:GET()
    return {code = 503, message = "Service Unavailable"}
end

slimta.edge.http = http
return http
