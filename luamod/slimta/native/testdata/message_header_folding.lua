-- test_message_header_folding (spec 4.2, 2.14).
require "slimta.message"
local hf = require "slimta.message.header_folding"

local words = {}
for i = 1, 19 do words[i] = "test" end
local subject = table.concat(words, " ")
assert(#subject == 94)
local folded = table.concat(words, " ", 1, 14) .. "\r\n " .. table.concat(words, " ", 15, 19)
assert(#("Subject: " .. table.concat(words, " ", 1, 14)) == 78)

assert(hf.fold("Subject", subject) == folded)
assert(hf.fold("Subject", "short") == "short")
local unfolded, count = hf.unfold(folded)
assert(unfolded == subject and count == 1)
assert(hf.unfold("a\n\tb") == "a\tb")

-- parse a folded header: the value is unfolded
local contents = slimta.message.contents.new("Subject: " .. folded .. "\r\n\r\nbody")
assert(contents.headers.subject[1] == subject)
assert(tostring(contents) == "Subject: " .. folded .. "\r\n\r\nbody")
local again = slimta.message.contents.new(tostring(contents))
assert(again.headers.subject[1] == subject)

-- a created header is folded on output
local c2 = slimta.message.contents.new("body")
c2:add_header("Subject", subject)
assert(tostring(c2) == "Subject: " .. folded .. "\r\n\r\nbody")
assert(slimta.message.contents.new(tostring(c2)).headers.subject[1] == subject)

-- a changed parsed header is re-rendered and folded by slimta
local c3 = slimta.message.contents.new("Subject: old\r\n\r\nbody")
c3.headers.subject[1] = subject
assert(tostring(c3) == "Subject: " .. folded .. "\r\n\r\nbody")

-- long words are never split; whitespace runs become the indentation
local long = ("x"):rep(100)
assert(hf.fold("X", long) == long)
assert(hf.fold("X", "a" .. "\t\t" .. long) == "a\r\n\t\t" .. long)
assert(hf.fold("Subject", ("a "):rep(40) .. "b", 20):find("\r\n", 1, true))

-- a created value cannot inject header lines or end the header section
local c4 = slimta.message.contents.new("body")
c4:add_header("X-Evil", "a\r\nBcc: victim@x\r\n\r\ninjected")
local out = tostring(c4)
local reparsed = slimta.message.contents.new(out)
assert(#reparsed.headers.bcc == 0, out)
assert(#reparsed.header_stack == 1)
assert(out:sub(-4) == "body")
