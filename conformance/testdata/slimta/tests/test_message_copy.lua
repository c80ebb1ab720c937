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

assert(2 == #message.envelope.recipients)
assert("test1" == message.envelope.recipients[1])
assert("test2" == message.envelope.recipients[2])
assert(1 == #message.contents.headers["test-header"])
assert("beep beep" == message.contents.headers["test-header"][1])
assert(0 == #message.contents.headers["important-header"])

assert(1 == #copy.envelope.recipients)
assert("likeaboss" == copy.envelope.recipients[1])
assert(1 == #copy.contents.headers["important-header"])
assert("derp" == copy.contents.headers["important-header"][1])
assert(0 == #copy.contents.headers["test-header"])

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
