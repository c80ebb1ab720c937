-- slimta.message.contents: a message's header fields and body (spec 2.13).
--
-- Deliberate differences from the original (spec 6.23):
--  * parsed header fields keep their original bytes (folding, spacing after
--    the colon), only line ends are made CRLF; slimta folds only the fields
--    it creates or that were changed;
--  * field names are RFC 5322 names (any printable ASCII but ':'), and no
--    white space is required after the colon;
--  * lines of the header block that are not fields are kept in place instead
--    of being dropped;
--  * a header section without a terminating blank line is recognised (the
--    leading run of field lines), and a message starting with a blank line
--    has an empty header section.

slimta = slimta or require "slimta"
slimta.message = slimta.message or {}

local header_folding = require "slimta.message.header_folding"
local fold = header_folding.fold

local contents = {}
contents.__index = contents

local CRLF = "\r\n"

-- headers[name] looks names up case-insensitively and never returns nil.
local headers_mt = {
    __index = function(t, k)
        if type(k) == "string" then
            local v = rawget(t, k:lower())
            if v ~= nil then
                return v
            end
        end
        return {}
    end,
}

-- Lua's %s: the characters that start a continuation line.
local WSP = {[32] = true, [9] = true, [13] = true, [11] = true, [12] = true}

local find, byte, sub = string.find, string.byte, string.sub

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

-- line_bounds returns the end of the line starting at pos (its LF, or
-- limit) and the end of its content (without CR?LF).
local function line_bounds(data, pos, limit)
    local lf = find(data, "\n", pos, true)
    if not lf or lf > limit then
        return limit, limit
    end
    if lf > pos and byte(data, lf - 1) == 13 then
        return lf, lf - 2
    end
    return lf, lf - 1
end

-- crlf_lines returns data[first..last] (whole lines) with every line ended
-- by CRLF, including a last line that had no terminator.
local function crlf_lines(data, first, last)
    local out, n, pos = {}, 0, first
    while pos <= last do
        local line_end, content_end = line_bounds(data, pos, last)
        out[n + 1], out[n + 2] = sub(data, pos, content_end), "\r\n"
        n = n + 2
        pos = line_end + 1
    end
    return concat(out, n)
end

-- A line ending is clean when it is CRLF.
local function clean_end(data, line_end, content_end)
    return line_end == content_end + 2
end

-- Field names seen before (RFC 5322: printable ASCII except ':'); bounded
-- so junk cannot grow it without limit.
local valid_names, num_valid_names = {}, 0
local function valid_name(name)
    local ok = valid_names[name]
    if ok == nil then
        ok = name ~= "" and not find(name, "[^!-9;-~]")
        if num_valid_names < 4096 then
            valid_names[name] = ok
            num_valid_names = num_valid_names + 1
        end
    end
    return ok
end

-- parse_fields reads header fields from data[1..limit]. In strict mode
-- (no blank line in the message) it stops at the first line that is
-- neither a field nor a continuation and returns its position; otherwise
-- such lines are kept verbatim after the preceding field (or in a prefix).
local function parse_fields(self, data, limit, strict)
    local headers, stack, raws = self.headers, self.header_stack, self._raw
    local nstack = #stack
    local prefix, last
    local pos = 1
    while pos <= limit do
        local line_end, content_end = line_bounds(data, pos, limit)
        local name, value
        if not WSP[byte(data, pos)] then
            local line = sub(data, pos, content_end)
            local colon = find(line, ":", 1, true)
            if colon then
                name = sub(line, 1, colon - 1)
                if valid_name(name) then
                    local c = byte(line, colon + 1)
                    if c == 32 or c == 9 then
                        colon = colon + 1
                    end
                    value = sub(line, colon + 1)
                else
                    name = nil
                end
            end
        end
        if name then
            local start, clean = pos, clean_end(data, line_end, content_end)
            pos = line_end + 1
            if pos <= limit and WSP[byte(data, pos)] then
                -- Unfold: drop each line break before white space.
                local pieces, np = {value}, 1
                repeat
                    line_end, content_end = line_bounds(data, pos, limit)
                    clean = clean and clean_end(data, line_end, content_end)
                    np = np + 1
                    pieces[np] = sub(data, pos, content_end)
                    pos = line_end + 1
                until pos > limit or not WSP[byte(data, pos)]
                value = concat(pieces, np)
            end
            local lname = name:lower()
            local vals = rawget(headers, lname)
            if not vals then
                vals = {}
                rawset(headers, lname, vals)
            end
            local k = #vals + 1
            vals[k] = value
            nstack = nstack + 1
            stack[nstack] = name
            local rl = raws[lname]
            if not rl then
                rl = {}
                raws[lname] = rl
            end
            local raw = clean and sub(data, start, pos - 1) or crlf_lines(data, start, pos - 1)
            last = {value, raw, name}
            rl[k] = last
        else
            if strict then
                return pos
            end
            local junk = clean_end(data, line_end, content_end) and sub(data, pos, line_end)
                or crlf_lines(data, pos, line_end)
            if last then
                last[2] = last[2] .. junk
            else
                prefix = (prefix or "") .. junk
            end
            pos = line_end + 1
        end
    end
    self._prefix = prefix
    return pos
end

-- find_blank_line locates the end of the header block: the first line
-- break followed by a line of white space only (the original's pattern
-- "\r?\n%s-\r?\n"). It returns the positions just after both line
-- breaks. Plain searches keep this fast on big bodies without a blank line.
local function find_blank_line(data)
    local lf = find(data, "\n", 1, true)
    while lf do
        local i = lf + 1
        local b = byte(data, i)
        while b == 32 or b == 9 or b == 13 or b == 11 or b == 12 do
            i = i + 1
            b = byte(data, i)
        end
        if b == 10 then
            return lf + 1, i + 1
        end
        lf = find(data, "\n", i, true)
    end
end

-- new(data) parses raw message data.
function contents.new(data)
    data = data or ""
    local self = setmetatable({
        orig_data = data,
        size = #data,
        headers = setmetatable({}, headers_mt),
        header_stack = {},
        _raw = {},
    }, contents)

    -- A blank first line: no header fields at all, the body follows it.
    local lead_end = data:match("^[ \t\r\v\f]*\n()")
    if lead_end then
        self.headers_end = 1
        self.contents_start = lead_end
        self._lead = data:sub(1, lead_end - 1)
        self._body = data:sub(lead_end)
        return self
    end

    local headers_end, contents_start = find_blank_line(data)
    if headers_end then
        self.headers_end, self.contents_start = headers_end, contents_start
        parse_fields(self, data, headers_end - 1, false)
        self._body = data:sub(contents_start)
        return self
    end

    -- No blank line: the leading run of field lines is the header block and
    -- the rest (possibly nothing) is the body, with no separator.
    local stop = parse_fields(self, data, #data, true)
    if stop > 1 then
        self.headers_end, self.contents_start = stop, stop
        self._nosep = true
    end
    self._body = data:sub(stop)
    return self
end

-- add_header(name, value [, after_existing]): prepends by default.
function contents.add_header(self, name, value, after_existing)
    if not value then
        return
    end
    local lname = name:lower()
    local vals = rawget(self.headers, lname)
    if not vals then
        vals = {}
        rawset(self.headers, lname, vals)
    end
    local rl = self._raw and self._raw[lname]
    if after_existing then
        vals[#vals + 1] = value
        if rl then
            rl[#vals] = false
        end
        table.insert(self.header_stack, name)
    else
        table.insert(vals, 1, value)
        if rl then
            table.insert(rl, 1, false)
        end
        table.insert(self.header_stack, 1, name)
    end
end

-- delete_header(name): removes every field of that name.
function contents.delete_header(self, name)
    local lname = name:lower()
    rawset(self.headers, lname, nil)
    if self._raw then
        self._raw[lname] = nil
    end
    local stack = self.header_stack
    local n = #stack
    local j = 0
    for i = 1, n do
        local h = stack[i]
        if h:lower() ~= lname then
            j = j + 1
            stack[j] = h
        end
    end
    for i = j + 1, n do
        stack[i] = nil
    end
end

-- created_value renders a value slimta writes: folded, and with any line
-- break made into a fold so a value cannot start a new field or end the
-- header section.
local function created_value(name, value)
    value = tostring(value)
    if not value:find("[\r\n]") then
        return fold(name, value)
    end
    value = value:gsub("\r\n", "\n"):gsub("\r", "\n"):gsub("\n+$", ""):gsub("\n+", "\n")
    value = value:gsub("\n([^ \t])", "\n %1")
    return (value:gsub("\n", CRLF))
end

local function serialize(self)
    local out, n = {}, 0
    if self._prefix then
        n = 1
        out[1] = self._prefix
    end
    local headers, raws = self.headers, self._raw or {}
    local counts = {}
    for _, name in ipairs(self.header_stack) do
        local lname = name:lower()
        local k = (counts[lname] or 0) + 1
        counts[lname] = k
        local vals = rawget(headers, lname)
        local value = vals and vals[k]
        if value == nil then
            error("[" .. name .. "] header stack occurances did not match value depth, "
                .. "use add_header() instead of modifying manually.")
        end
        local rl = raws[lname]
        local rec = rl and rl[k]
        n = n + 1
        if rec and rec[1] == value and rec[3] == name then
            out[n] = rec[2]
        else
            out[n] = name .. ": " .. created_value(name, value) .. CRLF
        end
    end
    if n > 0 then
        if not self._nosep then
            n = n + 1
            out[n] = CRLF
        end
    elseif self._lead then
        n = n + 1
        out[n] = self._lead
    end
    n = n + 1
    out[n] = self._body or ""
    local raw = concat(out, n)
    self.raw_data = raw
    return raw
end

contents.__tostring = serialize

-- copy(old): independent headers and header_stack, shared strings.
function contents.copy(old)
    local new = {}
    for k, v in pairs(old) do
        new[k] = v
    end
    local headers = setmetatable({}, headers_mt)
    for k, vals in pairs(old.headers) do
        local t = {}
        for i, v in ipairs(vals) do
            t[i] = v
        end
        headers[k] = t
    end
    new.headers = headers
    local stack = {}
    for i, h in ipairs(old.header_stack) do
        stack[i] = h
    end
    new.header_stack = stack
    local raws = {}
    for k, rl in pairs(old._raw or {}) do
        local t = {}
        for i, r in ipairs(rl) do
            t[i] = r
        end
        raws[k] = t
    end
    new._raw = raws
    return setmetatable(new, contents)
end

-- to_xml appends the serialised contents as an attachment.
function contents.to_xml(self, attachments)
    local part = #attachments + 1
    attachments[part] = tostring(self)
    return {'<contents part="' .. part .. '"/>'}
end

function contents.from_xml(node, attachments)
    local part = tonumber(node.attrs and node.attrs.part or 0)
    local data = part and attachments and attachments[part]
    if data then
        return contents.new(data)
    end
end

-- Contents are stored separately from the meta table.
function contents.to_meta(self, meta)
    return meta
end

function contents.from_meta(meta, raw)
    return contents.new(raw)
end

-- The hot paths in Go (slimta.message.native): the same parsing and
-- serialisation, several times faster. The Lua functions above remain the
-- reference; the native ones hand unusual values back to them.
local has_native, native = pcall(require, "slimta.message.native")
if has_native and type(native) == "table" then
    contents.new = native.contents_new(contents, headers_mt, contents.new)
    contents.__tostring = native.contents_string(serialize)
end

slimta.message.contents = contents
return contents
