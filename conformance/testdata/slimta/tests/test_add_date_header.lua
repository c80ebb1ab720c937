require "slimta.message"
require "slimta.policies.add_date_header"

local contents = slimta.message.contents.new("From: test\r\nSubject: test\r\n\r\nbody\r\n")
local message = slimta.message.new(nil, nil, contents)

local date_header = slimta.policies.add_date_header.new(function ()
    return "test date"
end)

assert(0 == #message.contents.headers.date)
date_header:add(message)
assert(1 == #message.contents.headers.date)
assert("test date" == message.contents.headers.date[1])

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
