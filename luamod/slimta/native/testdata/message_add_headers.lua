-- test_message_add_headers (spec 4.2).
require "slimta.message"

local contents = slimta.message.contents.new("From: test\r\nTo: test\r\nSubject: test test\r\n\r\nbeep beep\r\n")
contents:add_header("Date", "some day")
assert(tostring(contents) == "Date: some day\r\nFrom: test\r\nTo: test\r\nSubject: test test\r\n\r\nbeep beep\r\n")
contents:add_header("To", "another guy", true)
assert(tostring(contents) == "Date: some day\r\nFrom: test\r\nTo: test\r\nSubject: test test\r\nTo: another guy\r\n\r\nbeep beep\r\n")
assert(#contents.headers.to == 2)
assert(contents.headers.to[1] == "test" and contents.headers.to[2] == "another guy")
assert(contents.headers.To[2] == "another guy")

local c2 = slimta.message.contents.new("beep beep\r\n")
c2:add_header("Subject", "test test")
assert(tostring(c2) == "Subject: test test\r\n\r\nbeep beep\r\n")

-- nil/false values are ignored; "" is a value
c2:add_header("X-Nil", nil)
c2:add_header("X-False", false)
assert(#c2.headers["x-nil"] == 0 and #c2.header_stack == 1)
c2:add_header("X-Empty", "", true)
assert(tostring(c2) == "Subject: test test\r\nX-Empty: \r\n\r\nbeep beep\r\n")

-- prepending a second value of a parsed header keeps the parsed one as is
local c3 = slimta.message.contents.new("Received: from a\r\n  by b\r\n\r\nbody")
c3:add_header("Received", "from c by d")
assert(c3.headers.received[1] == "from c by d")
assert(c3.headers.received[2] == "from a  by b")
assert(tostring(c3) == "Received: from c by d\r\nReceived: from a\r\n  by b\r\n\r\nbody")
