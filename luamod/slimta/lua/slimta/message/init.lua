-- slimta.message: one mail message on its way through slimta (spec 2.10):
-- client, envelope, contents, timestamp, id, attempts.

slimta = slimta or require "slimta"
local message = slimta.message or {}
slimta.message = message

require "slimta.xml.reader"
local writer = require "slimta.xml.writer"
local client = require "slimta.message.client"
local envelope = require "slimta.message.envelope"
local contents = require "slimta.message.contents"
require "slimta.message.response"
require "slimta.message.bounce"

local esc_attr = writer.escape_attr

-- Instances get their methods from a separate table: message.client etc.
-- are the submodules, and must not show through as msg.client when a
-- message has no client.
local methods = {}
local message_mt = {__index = methods}
message.methods = methods

function message.new(client_, envelope_, contents_, timestamp, id, attempts)
    return setmetatable({
        client = client_,
        envelope = envelope_,
        contents = contents_,
        timestamp = timestamp,
        id = id,
        attempts = attempts or 0,
    }, message_mt)
end

function message.copy(old)
    local new = {}
    for k, v in pairs(old) do
        new[k] = v
    end
    if old.client then
        new.client = client.copy(old.client)
    end
    if old.envelope then
        new.envelope = envelope.copy(old.envelope)
    end
    if old.contents then
        new.contents = contents.copy(old.contents)
    end
    return setmetatable(new, message_mt)
end
methods.copy = message.copy

function message.load(session, id)
    local meta = session:get_message_meta(id)
    local raw = session:get_message_contents(id)
    if meta == nil or raw == nil then
        return nil, "invalid"
    end
    return message.from_meta(meta, raw, id)
end

function methods.store(self, session, id)
    self.id = id or session:claim_message_id()
    session:set_message_meta(self.id, message.to_meta(self))
    session:set_message_contents(self.id, tostring(self.contents))
    return self.id
end

function methods.increment_attempts(self, session)
    self.attempts = (tonumber(self.attempts) or 0) + 1
    session:set_message_meta_key(self.id, "attempts", self.attempts)
end

-- to_xml(msg, attachments): attribute values are escaped (spec 6.12).
function message.to_xml(self, attachments)
    local attrs = ""
    if self.id then
        attrs = ' id="' .. esc_attr(self.id) .. '"'
    end
    if self.timestamp then
        attrs = attrs .. ' timestamp="' .. esc_attr(self.timestamp) .. '"'
    end
    local attempts = tonumber(self.attempts)
    if attempts and attempts > 0 then
        attrs = attrs .. ' attempts="' .. esc_attr(attempts) .. '"'
    end
    local lines, n = {"<message" .. attrs .. ">"}, 1
    if self.client then
        n = n + 1
        lines[n] = client.to_xml(self.client, attachments)
    end
    if self.envelope then
        n = n + 1
        lines[n] = envelope.to_xml(self.envelope, attachments)
    end
    if self.contents then
        n = n + 1
        lines[n] = contents.to_xml(self.contents, attachments)
    end
    lines[n + 1] = "</message>"
    return lines
end
methods.to_xml = message.to_xml

-- from_xml(node, attachments [, force_id]). force_id is only honoured when
-- it is an id (string or number): TCP bus servers pass the peer address in
-- that position, which must not become the message id (spec 6.28).
-- timestamp becomes a number when it is numeric (spec 6.33).
function message.from_xml(node, attachments, force_id)
    assert(node.name == "message", "XML node is not a message")
    local attrs = node.attrs or {}
    local id = attrs.id
    local ft = type(force_id)
    if ft == "string" or ft == "number" then
        id = force_id
    end
    local timestamp = attrs.timestamp
    timestamp = tonumber(timestamp) or timestamp
    local new = message.new(nil, nil, nil, timestamp, id, tonumber(attrs.attempts) or 0)
    for _, child in ipairs(node) do
        local name = child.name
        if name == "client" then
            new.client = client.from_xml(child, attachments)
        elseif name == "envelope" then
            new.envelope = envelope.from_xml(child, attachments)
        elseif name == "contents" then
            new.contents = contents.from_xml(child, attachments)
        end
    end
    return new
end

function message.to_meta(self, meta)
    meta = meta or {}
    meta.timestamp = self.timestamp
    meta.attempts = self.attempts
    if self.client then
        client.to_meta(self.client, meta)
    end
    if self.envelope then
        envelope.to_meta(self.envelope, meta)
    end
    if self.contents then
        contents.to_meta(self.contents, meta)
    end
    return meta
end
methods.to_meta = message.to_meta

function message.from_meta(meta, raw_contents, force_id)
    return message.new(
        client.from_meta(meta),
        envelope.from_meta(meta),
        contents.from_meta(meta, raw_contents),
        tonumber(meta.timestamp),
        force_id or meta.id,
        tonumber(meta.attempts) or 0)
end

return message
