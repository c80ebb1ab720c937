-- slimta.message.envelope: sender, recipients and routing (spec 2.12).

slimta = slimta or require "slimta"
slimta.message = slimta.message or {}
local writer = require "slimta.xml.writer"

local esc, esc_attr = writer.escape_text, writer.escape_attr

local envelope = {}
envelope.__index = envelope

function envelope.new(sender, recipients, dest_relayer, dest_host, dest_port)
    return setmetatable({
        sender = sender,
        recipients = recipients or {},
        dest_relayer = dest_relayer,
        dest_host = dest_host,
        dest_port = dest_port,
    }, envelope)
end

function envelope.copy(old)
    local new = {}
    for k, v in pairs(old) do
        new[k] = v
    end
    local rcpts = {}
    for i, r in ipairs(old.recipients or {}) do
        rcpts[i] = r
    end
    new.recipients = rcpts
    return setmetatable(new, envelope)
end

-- to_xml(envelope): values are escaped (spec 6.12); a nil sender is left
-- out instead of raising.
function envelope.to_xml(self)
    local lines, n = {"<envelope>"}, 1
    if self.sender ~= nil then
        n = n + 1
        lines[n] = " <sender>" .. esc(self.sender) .. "</sender>"
    end
    for _, rcpt in ipairs(self.recipients or {}) do
        n = n + 1
        lines[n] = " <recipient>" .. esc(rcpt) .. "</recipient>"
    end
    if self.dest_host then
        local attrs = ""
        if self.dest_relayer then
            attrs = ' relayer="' .. esc_attr(self.dest_relayer) .. '"'
        end
        if self.dest_port then
            attrs = attrs .. ' port="' .. esc_attr(self.dest_port) .. '"'
        end
        n = n + 1
        lines[n] = " <destination" .. attrs .. ">" .. esc(self.dest_host) .. "</destination>"
    end
    lines[n + 1] = "</envelope>"
    return lines
end

local function trim(s)
    return s:match("^%s*(.-)%s*$")
end
local has_native, native = pcall(require, "slimta.message.native")
if has_native and type(native) == "table" then
    trim = native.trim
end

function envelope.from_xml(node)
    local new = envelope.new()
    local rcpts, n = new.recipients, 0
    for _, child in ipairs(node) do
        local name = child.name
        if name == "sender" then
            new.sender = trim(child.data or "")
        elseif name == "recipient" then
            n = n + 1
            rcpts[n] = trim(child.data or "")
        elseif name == "destination" then
            local attrs = child.attrs or {}
            new.dest_host = trim(child.data or "")
            new.dest_port = tonumber(attrs.port)
            if attrs.relayer then
                new.dest_relayer = trim(attrs.relayer)
            end
        end
    end
    return new
end

-- Recipients are stored as "\0" .. r for each recipient.
function envelope.to_meta(self, meta)
    meta = meta or {}
    meta.sender = self.sender
    local rcpts = self.recipients or {}
    if #rcpts == 0 then
        meta.recipients = "\0"
    else
        meta.recipients = "\0" .. table.concat(rcpts, "\0")
    end
    meta.dest_relayer = self.dest_relayer
    meta.dest_host = self.dest_host
    meta.dest_port = self.dest_port
    return meta
end

-- decode_recipients splits the NUL-prefixed list; "\0" alone is the empty
-- list (the original decoded it as one empty recipient, spec 6.24).
local function decode_recipients(s)
    local rcpts, n = {}, 0
    if type(s) ~= "string" or s == "\0" then
        return rcpts
    end
    local pos = s:find("\0", 1, true)
    while pos do
        local nxt = s:find("\0", pos + 1, true)
        n = n + 1
        rcpts[n] = s:sub(pos + 1, (nxt or #s + 1) - 1)
        pos = nxt
    end
    return rcpts
end

function envelope.from_meta(meta)
    return envelope.new(meta.sender, decode_recipients(meta.recipients),
        meta.dest_relayer, meta.dest_host, meta.dest_port)
end

slimta.message.envelope = envelope
return envelope
