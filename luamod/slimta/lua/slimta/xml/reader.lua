-- slimta.xml.reader: parses a whole XML document into a tree of nodes
-- (spec 2.8): node.name, node.attrs, node.data (the element's own text,
-- concatenated) and the child elements at 1..n.

slimta = slimta or require "slimta"
local xml = require "slimta.xml"

local reader = {}
reader.__index = reader

function reader.new()
    return setmetatable({}, reader)
end

local function start_cb(state, name, attrs)
    local depth = state.depth
    local parent = state.nodes[depth]
    local node = {name = name, attrs = attrs}
    parent[#parent + 1] = node
    depth = depth + 1
    state.depth = depth
    state.nodes[depth] = node
    state.texts[depth] = false
end

local function data_cb(state, text)
    local depth = state.depth
    local t = state.texts[depth]
    if not t then
        state.texts[depth] = text
    elseif type(t) == "string" then
        state.texts[depth] = {t, text}
    else
        t[#t + 1] = text
    end
end

-- concat is table.concat in slices (gopher-lua's pushes every element on
-- the Lua stack).
local function concat(t)
    local n = #t
    if n <= 200 then
        return table.concat(t)
    end
    local parts = {}
    for i = 1, n, 200 do
        parts[#parts + 1] = table.concat(t, "", i, math.min(i + 199, n))
    end
    return concat(parts)
end

local function end_cb(state)
    local depth = state.depth
    local t = state.texts[depth]
    if not t then
        t = ""
    elseif type(t) == "table" then
        t = concat(t)
    end
    state.nodes[depth].data = t
    state.nodes[depth] = nil
    state.texts[depth] = nil
    state.depth = depth - 1
end

-- parse_xml(data) -> root; raises the parser's message on malformed input.
-- The tree is built in Go when slimta.message.native is there (same
-- parser, same tree); the callbacks above are the reference.
local has_native, native = pcall(require, "slimta.message.native")
local native_parse = has_native and type(native) == "table" and native.parse_xml

function reader:parse_xml(data)
    if native_parse then
        return native_parse(data)
    end
    local root = {}
    local state = {depth = 1, nodes = {root}, texts = {false}}
    local parser = xml.new(state, start_cb, end_cb, data_cb)
    local ok, err = parser:parse(data)
    if not ok then
        error(err, 0)
    end
    return root
end

xml.reader = reader
return reader
