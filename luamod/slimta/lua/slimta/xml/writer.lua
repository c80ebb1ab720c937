-- slimta.xml.writer: builds the indented XML documents of TCP buses
-- (spec 2.7). Items render themselves with item:to_xml(attachments).

slimta = slimta or require "slimta"
local xml = require "slimta.xml"

local writer = {}
writer.__index = writer

function writer.new()
    return setmetatable({lines = {}, attachments = {}}, writer)
end

function writer:add_item(item)
    local lines = self.lines
    local n = #lines
    for _, line in ipairs(item:to_xml(self.attachments)) do
        n = n + 1
        lines[n] = line
    end
end

-- concat is table.concat in slices: gopher-lua's table.concat pushes every
-- element on the Lua stack, which overflows for long arrays.
local function concat(t, n)
    n = n or #t
    if n <= 200 then
        return table.concat(t, "", 1, n)
    end
    local parts, np = {}, 0
    for i = 1, n, 200 do
        np = np + 1
        parts[np] = table.concat(t, "", i, math.min(i + 199, n))
    end
    return concat(parts, np)
end

local indents = {[0] = ""}
local function indent(depth)
    local s = indents[depth]
    if not s then
        s = (" "):rep(depth)
        indents[depth] = s
    end
    return s
end

local function emit(out, n, lines, depth)
    local pad = indent(depth)
    for _, line in ipairs(lines) do
        if type(line) == "table" then
            n = emit(out, n, line, depth + 1)
        else
            out[n + 1], out[n + 2], out[n + 3] = pad, line, "\r\n"
            n = n + 3
        end
    end
    return n
end

-- build([containers]) -> xml_string, attachments. Byte layout: each
-- container and line on its own CRLF-terminated line, indented by depth.
local native_build

function writer:build(containers)
    containers = containers or {}
    if native_build then
        local xml = native_build(self.lines, containers)
        if xml then
            return xml, self.attachments
        end
    end
    local out, n = {}, 0
    for i, name in ipairs(containers) do
        out[n + 1], out[n + 2], out[n + 3] = indent(i - 1), "<" .. name .. ">", "\r\n"
        n = n + 3
    end
    n = emit(out, n, self.lines, #containers)
    for i = #containers, 1, -1 do
        out[n + 1], out[n + 2], out[n + 3] = indent(i - 1), "</" .. containers[i] .. ">", "\r\n"
        n = n + 3
    end
    return concat(out, n), self.attachments
end

-- Helpers for to_xml implementations (not in the original, which wrote
-- values unescaped; spec 6.12). Text keeps CR as a character reference
-- because parsers turn CRLF into LF; attribute values also keep LF and TAB,
-- which attribute normalisation would turn into spaces.
local escape = xml.escape

function writer.escape_text(s)
    s = escape(tostring(s))
    if s:find("\r", 1, true) then
        s = s:gsub("\r", "&#13;")
    end
    return s
end

function writer.escape_attr(s)
    s = escape(tostring(s))
    if s:find("[\r\n\t]") then
        s = s:gsub("[\r\n\t]", {["\r"] = "&#13;", ["\n"] = "&#10;", ["\t"] = "&#9;"})
    end
    return s
end

-- The same functions in Go, when available (build falls back to the Lua
-- code for anything but strings and arrays).
local has_native, native = pcall(require, "slimta.message.native")
if has_native and type(native) == "table" then
    writer.escape_text = native.escape_text
    writer.escape_attr = native.escape_attr
    native_build = native.build_xml
end

xml.writer = writer
return writer
