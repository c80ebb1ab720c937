-- slimta.message.response: the reply to one delivered/queued message
-- (spec 2.15).

slimta = slimta or require "slimta"
slimta.message = slimta.message or {}
local writer = require "slimta.xml.writer"

local esc, esc_attr = writer.escape_text, writer.escape_attr

local response = {}
response.__index = response

function response.new(code, message, data)
    return setmetatable({code = code or "", message = message or "", data = data}, response)
end

function response.as_smtp(self)
    return self.code, self.message
end

-- SMTP code -> HTTP status, first match wins. The patterns are anchored
-- (the original searched anywhere in the code, spec 6.52).
local http_codes = {
    {"^2%d%d$", "200"},
    {"^421$", "503"},
    {"^450$", "503"},
    {"^4%d%d$", "500"},
    {"^535$", "403"},
    {"^%d%d%d$", "400"},
}

function response.as_http(self)
    local code = tostring(self.code):match("^%s*(.-)%s*$")
    local status
    for _, rule in ipairs(http_codes) do
        if code:find(rule[1]) then
            status = rule[2]
            break
        end
    end
    if not status then
        error("Invalid message response code: " .. tostring(self.code))
    end
    -- The text becomes the reason phrase: control characters (CR/LF of
    -- multi-line replies) would split the HTTP response (spec 6.15).
    local reason = tostring(self.message or "")
    if reason:find("%c") then
        reason = reason:gsub("%c+", " "):match("^%s*(.-)%s*$")
    end
    local ret = {code = status, message = reason, headers = {}}
    if self.data then
        ret.data = self.data
        ret.headers["Content-Length"] = {#self.data}
    end
    return ret
end

-- to_xml(response): text and attributes are escaped (spec 6.12).
function response.to_xml(self)
    local open = '<reply code="' .. esc_attr(self.code) .. '">' .. esc(self.message or "")
    if self.data then
        return {open, " <data>" .. esc(self.data) .. "</data>", "</reply>"}
    end
    return {open .. "</reply>"}
end

local function trim(s)
    return s:match("^%s*(.-)%s*$")
end
local has_native, native = pcall(require, "slimta.message.native")
if has_native and type(native) == "table" then
    trim = native.trim
    if native.response_new then
        response.new = native.response_new(response)
    end
end

-- from_xml(node): the code stays a string (the original converted it to a
-- number, which broke code comparisons, spec 6.27).
function response.from_xml(node)
    assert(node.name == "reply", "XML node is not a reply")
    local code = node.attrs and node.attrs.code
    local data
    for _, child in ipairs(node) do
        if child.name == "data" then
            data = trim(child.data or "")
        end
    end
    return response.new(code and trim(code) or "", trim(node.data or ""), data)
end

slimta.message.response = response
return response
