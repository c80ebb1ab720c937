require "slimta.message"

local words = {}
for i = 1, 19 do
    table.insert(words, "test")
end
local subject = table.concat(words, " ")
assert(94 == #subject)

local folded_subject = table.concat(words, " ", 1, 14) .. "\r\n " .. table.concat(words, " ", 15, 19)

-- parsing a folded header unfolds it
local data = "Subject: " .. folded_subject .. "\r\n\r\nbody\r\n"
local contents = slimta.message.contents.new(data)
assert(subject == contents.headers.subject[1])
assert(data == tostring(contents))

-- a long header added by slimta is folded on output
local contents2 = slimta.message.contents.new("body\r\n")
contents2:add_header("Subject", subject)
local expected = "Subject: " .. folded_subject .. "\r\n\r\nbody\r\n"
local output = tostring(contents2)
assert(expected == output, output)

-- and the folded output parses back to the same single-line value
local contents3 = slimta.message.contents.new(output)
assert(subject == contents3.headers.subject[1])

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
