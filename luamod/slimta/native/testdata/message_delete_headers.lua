-- test_message_delete_headers (spec 4.2).
require "slimta.message"

local contents = slimta.message.contents.new("From: test\r\nTo: test\r\nSubject: test test\r\nTo: test\r\n\r\nbeep beep\r\n")
contents:delete_header("To")
assert(tostring(contents) == "From: test\r\nSubject: test test\r\n\r\nbeep beep\r\n")
assert(#contents.headers.to == 0)
assert(#contents.header_stack == 2)

-- case-insensitive, and deleting everything leaves the bare body
contents:delete_header("FROM")
contents:delete_header("subject")
assert(tostring(contents) == "beep beep\r\n")
assert(contents.raw_data == "beep beep\r\n")

-- deleting a missing header is harmless
contents:delete_header("X-None")
assert(tostring(contents) == "beep beep\r\n")
