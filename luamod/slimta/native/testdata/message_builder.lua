-- slimta.message.native.message_builder: the edges' one-call message
-- construction must build exactly what the Lua constructors build.
require "slimta.message"
local m = slimta.message
local ok, native = pcall(require, "slimta.message.native")
if not ok or type(native) ~= "table" then
    return -- no native module in this runtime: nothing to compare
end
local probe = m.new()
local build = native.message_builder(m.contents.new, m.client, m.envelope, getmetatable(probe))
assert(build, "contents.new is native here")

-- a Lua function is not a native contents.new: no builder
assert(native.message_builder(function () end, m.client, m.envelope, getmetatable(probe)) == nil)

local function lua_build(data, sender, recipients, protocol, ehlo, ip, security, receiver, authed, ts)
    local client = m.client.new(protocol, ehlo, ip, security, receiver, authed)
    local envelope = m.envelope.new(sender, recipients)
    local contents = m.contents.new(data)
    if sender and sender ~= "" and not contents.headers.from[1] then
        contents:add_header("From", sender)
    end
    return m.new(client, envelope, contents, ts)
end

local function same(a, b, path)
    if type(a) ~= type(b) then
        error(path .. ": " .. type(a) .. " vs " .. type(b), 0)
    end
    if type(a) ~= "table" then
        assert(a == b, path .. ": " .. tostring(a) .. " vs " .. tostring(b))
        return
    end
    assert(getmetatable(a) == getmetatable(b), path .. ": metatables differ")
    for k, v in pairs(a) do
        same(v, rawget(b, k), path .. "." .. tostring(k))
    end
    for k, v in pairs(b) do
        same(rawget(a, k), v, path .. "." .. tostring(k))
    end
end

local datas = {
    "Subject: hi\r\n\r\nbody\r\n",
    "From: a@b\r\nSubject: hi\r\n\r\nbody",
    "from:  <x@y>\r\n\r\n",
    "no header block at all",
    "",
    "\r\nbody after a blank first line",
    "X: 1\r\nX: 2\r\nDKIM-Signature: a;\r\n\tb\r\n\r\nbody",
    "Subject: no blank line\r\nbody?",
}
local senders = {"s@example.com", "", false}
for _, data in ipairs(datas) do
    for _, sender in ipairs(senders) do
        if sender == false then
            sender = nil
        end
        for _, authed in ipairs({"user", false}) do
            authed = authed or nil
            local args = {data, sender, {"r1@x", "r2@y"}, "ESMTPA", "helo.example", "127.0.0.1",
                          "none", "mx.local", authed, 1700000000}
            local a = build(table.unpack(args, 1, 10))
            args[3] = {"r1@x", "r2@y"}
            local b = lua_build(table.unpack(args, 1, 10))
            same(a, b, "msg")
            assert(tostring(a.contents) == tostring(b.contents))
            assert(a.contents.headers.FROM[1] == b.contents.headers.from[1])
            -- the native contents stay editable like Lua-built ones
            a.contents:add_header("X-Added", "1")
            b.contents:add_header("X-Added", "1")
            assert(tostring(a.contents) == tostring(b.contents))
            local att_a, att_b = {}, {}
            same(m.to_xml(a, att_a), m.to_xml(b, att_b), "xml")
            same(att_a, att_b, "attachments")
        end
    end
end

-- a null sender adds no From header (spec 6.1 #10)
local msg = build("Subject: x\r\n\r\n", "", {"r@x"}, "SMTP", nil, "::1", "none", "h", nil, 1)
assert(msg.contents.headers.from[1] == nil)
assert(msg.client.ehlo == nil and msg.envelope.sender == "")
assert(msg.attempts == 0 and msg.id == nil and msg.timestamp == 1)

-- the native response.new builds what the Lua constructor built
local response = m.response
for _, args in ipairs({{}, {"250"}, {"250", "Ok"}, {"250", "Ok", "id"}, {false, false, false},
                       {250, 7}, {"", nil, "d"}}) do
    local r = response.new(args[1], args[2], args[3])
    local want = setmetatable({code = args[1] or "", message = args[2] or "", data = args[3]}, response)
    same(r, want, "response")
end
