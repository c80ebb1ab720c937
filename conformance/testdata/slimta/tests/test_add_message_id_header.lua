require "slimta.message"
require "slimta.policies.add_message_id_header"

local contents = slimta.message.contents.new("From: test\r\n\r\nbody\r\n")
local message = slimta.message.new(nil, nil, contents)

local message_id = slimta.policies.add_message_id_header.new("hostname.tld",
    function () return "abcdefg" end,
    function () return "1234567890" end)

assert(0 == #message.contents.headers["message-id"])
message_id:add(message)
assert(1 == #message.contents.headers["message-id"])
assert("<abcdefg.1234567890@hostname.tld>" == message.contents.headers["message-id"][1])

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
