require "slimta.message"

local data = "From: test\r\nTo: test\r\nSubject: test test\r\nTo: test2\r\n\r\nbeep beep\r\n"
local contents = slimta.message.contents.new(data)

assert(2 == #contents.headers.to)
contents:delete_header("To")
assert(0 == #contents.headers.to)

local expected = "From: test\r\nSubject: test test\r\n\r\nbeep beep\r\n"
assert(expected == tostring(contents))

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
