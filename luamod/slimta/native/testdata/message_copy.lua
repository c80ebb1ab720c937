-- test_message_copy (spec 4.2).
require "slimta.message"

local client = slimta.message.client.new()
local envelope = slimta.message.envelope.new(nil, {"test1"})
local contents = slimta.message.contents.new("test contents")
local message = slimta.message.new(client, envelope, contents)

local copy = slimta.message.copy(message)
message.contents:add_header("Test-Header", "beep beep")
copy.contents:add_header("Important-Header", "derp")
table.insert(message.envelope.recipients, "test2")
copy.envelope.recipients = {"likeaboss"}

assert(#message.envelope.recipients == 2)
assert(message.envelope.recipients[1] == "test1")
assert(message.envelope.recipients[2] == "test2")
assert(#message.contents.headers["test-header"] == 1)
assert(message.contents.headers["test-header"][1] == "beep beep")
assert(#message.contents.headers["important-header"] == 0)

assert(#copy.envelope.recipients == 1)
assert(copy.envelope.recipients[1] == "likeaboss")
assert(#copy.contents.headers["important-header"] == 1)
assert(copy.contents.headers["important-header"][1] == "derp")
assert(#copy.contents.headers["test-header"] == 0)

assert(tostring(message.contents) == "Test-Header: beep beep\r\n\r\ntest contents")
assert(tostring(copy.contents) == "Important-Header: derp\r\n\r\ntest contents")

-- copies are distinct objects with the same field values; the id is copied
message.id = "abc"
message.timestamp = 42
local c2 = message:copy()
assert(c2 ~= message and c2.client ~= message.client and c2.envelope ~= message.envelope)
assert(c2.id == "abc" and c2.timestamp == 42 and c2.attempts == 0)
assert(getmetatable(c2.client) == slimta.message.client)
assert(getmetatable(c2.envelope) == slimta.message.envelope)

-- a message without client does not expose the client module through it
local bare = slimta.message.new(nil, nil, contents)
assert(bare.client == nil and bare.envelope == nil)
assert(slimta.message.copy(bare).client == nil)

-- contents copies keep original header bytes independently
local parsed = slimta.message.contents.new("X-A:  spaced\r\nSubject: s\r\n\r\nbody")
local pc = parsed:copy()
pc:delete_header("Subject")
assert(tostring(parsed) == "X-A:  spaced\r\nSubject: s\r\n\r\nbody")
assert(tostring(pc) == "X-A:  spaced\r\n\r\nbody")
