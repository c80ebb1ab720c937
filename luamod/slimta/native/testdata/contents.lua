-- slimta.message.contents parsing and serialisation (spec 2.13, 6.23).
local contents = require "slimta.message.contents"

-- no blank line, no fields: all body, unchanged
local c = contents.new("test contents")
assert(c.orig_data == "test contents" and c.size == 13)
assert(c.headers_end == nil and c.contents_start == nil)
assert(#c.header_stack == 0)
assert(tostring(c) == "test contents")
c:add_header("Subject", "x")
assert(tostring(c) == "Subject: x\r\n\r\ntest contents")

-- lookups never return nil and ignore case
assert(type(c.headers.nothing) == "table" and #c.headers.nothing == 0)
assert(c.headers.SUBJECT[1] == "x")

-- positions as in the original: after the first and second LF
c = contents.new("A: b\r\n\r\nbody")
assert(c.headers_end == 7 and c.contents_start == 9)
assert(tostring(c) == "A: b\r\n\r\nbody")

-- LF-only input: header lines come out with CRLF, the body keeps its bytes
c = contents.new("From: a\nTo: b\n  c\n\nline1\nline2\n")
assert(c.headers.to[1] == "b  c")
assert(tostring(c) == "From: a\r\nTo: b\r\n  c\r\n\r\nline1\nline2\n")

-- original bytes of parsed fields are kept: spacing, no space, names
local raw = "X_Under: v\r\nNo-Space:value\r\nTwo:  spaces\r\nTab:\tt\r\nEmpty:\r\n"
    .. "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\n\r\nbody"
c = contents.new(raw)
assert(c.headers.x_under[1] == "v")
assert(c.headers["no-space"][1] == "value")
assert(c.headers.two[1] == " spaces")
assert(c.headers.tab[1] == "t")
assert(c.headers.empty[1] == "")
assert(c.headers["dkim-signature"][1] == "v=1; a=rsa-sha256;\tb=abc")
assert(#c.header_stack == 6)
assert(c.header_stack[1] == "X_Under" and c.header_stack[6] == "DKIM-Signature")
assert(tostring(c) == raw)
c:add_header("Received", "by me")
assert(tostring(c) == "Received: by me\r\n" .. raw)

-- lines that are not fields are kept where they were
raw = "From sender@x Mon Jan  1 00:00:00 2001\r\nSubject: s\r\nbroken line\r\nTo: t\r\n\r\nbody"
c = contents.new(raw)
assert(#c.header_stack == 2)
assert(c.headers.subject[1] == "s" and c.headers.to[1] == "t")
assert(tostring(c) == raw)
c:add_header("X-Top", "1")
assert(tostring(c) == "From sender@x Mon Jan  1 00:00:00 2001\r\nX-Top: 1\r\nSubject: s\r\nbroken line\r\nTo: t\r\n\r\nbody")

-- a header section without a blank line
c = contents.new("From: a\r\nTo: b\r\n")
assert(#c.header_stack == 2 and c.headers.to[1] == "b")
assert(tostring(c) == "From: a\r\nTo: b\r\n")
c:add_header("Subject", "new")
assert(tostring(c) == "Subject: new\r\nFrom: a\r\nTo: b\r\n")
c = contents.new("From: a\r\nTo: b")
assert(c.headers.to[1] == "b")
assert(tostring(c) == "From: a\r\nTo: b\r\n")
c = contents.new("From: a\r\nthis is body\r\nmore: body\r\n")
assert(#c.header_stack == 1)
assert(c.headers_end == 10 and c.contents_start == 10)
c:add_header("Subject", "new")
assert(tostring(c) == "Subject: new\r\nFrom: a\r\nthis is body\r\nmore: body\r\n")

-- a blank first line: no fields, everything after it is body
c = contents.new("\r\nFrom: not a header\r\n\r\nbody")
assert(#c.header_stack == 0)
assert(tostring(c) == "\r\nFrom: not a header\r\n\r\nbody")
c:add_header("Subject", "s")
assert(tostring(c) == "Subject: s\r\n\r\nFrom: not a header\r\n\r\nbody")

-- a whitespace-only line ends the header section too
c = contents.new("A: 1\r\n \t\r\nbody")
assert(#c.header_stack == 1 and tostring(c) == "A: 1\r\n\r\nbody")

-- empty data
c = contents.new("")
assert(tostring(c) == "")
c:add_header("A", "b")
assert(tostring(c) == "A: b\r\n\r\n")

-- binary bodies pass through
local bin = "A: b\r\n\r\n\0\1\2\255"
assert(tostring(contents.new(bin)) == bin)

-- a desynchronised header_stack raises
c = contents.new("A: 1\r\n\r\nx")
table.insert(c.header_stack, "B")
assert(not pcall(tostring, c))

-- renaming a parsed field in the stack re-renders it
c = contents.new("subject: s\r\n\r\nx")
c.header_stack[1] = "Subject"
assert(tostring(c) == "Subject: s\r\n\r\nx")

-- to_xml / from_xml / meta
local att = {"first"}
c = contents.new("A: 1\r\n\r\nx")
local lines = contents.to_xml(c, att)
assert(#lines == 1 and lines[1] == '<contents part="2"/>')
assert(att[2] == "A: 1\r\n\r\nx")
local back = contents.from_xml({name = "contents", attrs = {part = "2"}}, att)
assert(tostring(back) == att[2])
assert(contents.from_xml({name = "contents", attrs = {part = "9"}}, att) == nil)
assert(contents.from_xml({name = "contents", attrs = {}}, att) == nil)
local meta = {}
assert(contents.to_meta(c, meta) == meta and next(meta) == nil)
assert(tostring(contents.from_meta(meta, "raw")) == "raw")

-- a large message: one pass, no quadratic behaviour
local parts = {}
for i = 1, 2000 do parts[i] = "X-Header-" .. i .. ": value " .. i .. "\r\n" end
local body = ("0123456789abcdef"):rep(65536) -- 1 MiB
local big = table.concat(parts) .. "\r\n" .. body
local t0 = os.clock()
c = contents.new(big)
assert(#c.header_stack == 2000)
assert(c.headers["x-header-1999"][1] == "value 1999")
c:add_header("Received", "by me")
local s = tostring(c)
assert(#s == #big + #"Received: by me\r\n")
assert(os.clock() - t0 < 5)
