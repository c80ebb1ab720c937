-- spec 4.2 test_add_date_header, plus the default RFC 5322 format.
require "slimta.message"
require "slimta.policies.add_date_header"

local contents = slimta.message.contents.new("From: a@example.com\r\n\r\nbody\r\n")
local msg = slimta.message.new(nil, nil, contents)
assert(#msg.contents.headers.date == 0)
local policy = slimta.policies.add_date_header.new(function () return "test date" end)
policy:add(msg)
assert(#msg.contents.headers.date == 1)
assert(msg.contents.headers.date[1] == "test date")
-- a second pass keeps the existing header
policy:add(msg)
assert(#msg.contents.headers.date == 1)
assert(tostring(msg.contents):sub(1, 17) == "Date: test date\r\n", tostring(msg.contents))

-- default builder: "Fri, 13 Feb 2009 23:31:30 +0000" shape, English names
local m2 = slimta.message.new(nil, nil, slimta.message.contents.new("x"), 1234567890)
slimta.policies.add_date_header.new():add(m2)
local d = m2.contents.headers.date[1]
assert(d:match("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d [+-]%d%d%d%d$"), d)
local wd = d:sub(1, 3)
local days = {Sun = 1, Mon = 1, Tue = 1, Wed = 1, Thu = 1, Fri = 1, Sat = 1}
assert(days[wd], "weekday " .. wd)
-- the same instant rendered in UTC is Friday 13 February 2009
assert(os.date("!%a, %d %b %Y %H:%M:%S", 1234567890) == "Fri, 13 Feb 2009 23:31:30",
       os.date("!%a, %d %b %Y %H:%M:%S", 1234567890))
