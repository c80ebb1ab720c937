-- spec 4.2 test_add_message_id_header
require "slimta.message"
require "slimta.policies.add_message_id_header"

local contents = slimta.message.contents.new("Subject: x\r\n\r\nbody")
local msg = slimta.message.new(nil, nil, contents)
local policy = slimta.policies.add_message_id_header.new("hostname.tld",
    function () return "abcdefg" end, function () return "1234567890" end)
policy:add(msg)
assert(#msg.contents.headers["message-id"] == 1)
assert(msg.contents.headers["message-id"][1] == "<abcdefg.1234567890@hostname.tld>")
assert(tostring(msg.contents):find("^Message%-Id: <abcdefg%.1234567890@hostname%.tld>\r\n"))
-- existing header in any case is kept
local c2 = slimta.message.contents.new("MESSAGE-ID: <keep@me>\r\n\r\nbody")
local m2 = slimta.message.new(nil, nil, c2)
policy:add(m2)
assert(#m2.contents.headers["message-id"] == 1)
assert(m2.contents.headers["message-id"][1] == "<keep@me>")
-- defaults: uuid and os.time
local m3 = slimta.message.new(nil, nil, slimta.message.contents.new("body"))
slimta.policies.add_message_id_header.new("h.example"):add(m3)
local v = m3.contents.headers["message-id"][1]
assert(v:match("^<%x+%-%x+%-%x+%-%x+%-%x+%.%d+@h%.example>$"), v)
