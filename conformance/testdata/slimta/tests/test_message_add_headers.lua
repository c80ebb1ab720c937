require "slimta.message"

local data = "From: test\r\nTo: test\r\nSubject: test test\r\n\r\nbeep beep\r\n"
local contents = slimta.message.contents.new(data)

contents:add_header("Date", "some day")
local expected = "Date: some day\r\nFrom: test\r\nTo: test\r\nSubject: test test\r\n\r\nbeep beep\r\n"
assert(expected == tostring(contents))

contents:add_header("To", "another guy", true)
expected = "Date: some day\r\nFrom: test\r\nTo: test\r\nSubject: test test\r\nTo: another guy\r\n\r\nbeep beep\r\n"
assert(expected == tostring(contents))
assert(2 == #contents.headers.to)
assert("test" == contents.headers.to[1])
assert("another guy" == contents.headers.to[2])

local contents2 = slimta.message.contents.new("beep beep\r\n")
contents2:add_header("Subject", "test test")
assert("Subject: test test\r\n\r\nbeep beep\r\n" == tostring(contents2))

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
