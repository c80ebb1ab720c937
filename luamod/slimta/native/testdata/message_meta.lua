-- Meta table (spec 3.3), store/load/increment_attempts (spec 2.10) with an
-- in-memory session like slimta.storage.memory.
require "slimta.message"

local session = {ids = 0, meta = {}, contents = {}}
function session:claim_message_id() self.ids = self.ids + 1; return "id" .. self.ids end
function session:set_message_meta(id, meta) self.meta[id] = meta end
function session:set_message_meta_key(id, k, v) self.meta[id][k] = v end
function session:get_message_meta(id)
    if self.meta[id] then return self.meta[id] end
    return nil, "Message ID not found."
end
function session:set_message_contents(id, raw) self.contents[id] = raw end
function session:get_message_contents(id)
    if self.contents[id] then return self.contents[id] end
    return nil, "Message ID not found."
end

local client = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "localhost")
local env = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"})
local msg = slimta.message.new(client, env, slimta.message.contents.new("test contents"), 12345)

local meta = msg:to_meta()
assert(meta.timestamp == 12345 and meta.attempts == 0)
assert(meta.protocol == "SMTP" and meta.ehlo == "testing" and meta.ip == "1.2.3.4")
assert(meta.security == "TLS" and meta.receiver == "localhost" and meta.auth_info == nil)
assert(meta.sender == "sender@slimta.org")
assert(meta.recipients == "\0rcpt1@slimta.org\0rcpt2@slimta.org")
assert(meta.dest_relayer == nil and meta.dest_host == nil and meta.dest_port == nil)
assert(meta.id == nil)
local given = {}
assert(slimta.message.to_meta(msg, given) == given and given.sender == "sender@slimta.org")

local id = msg:store(session)
assert(id == "id1" and msg.id == "id1")
assert(session.contents.id1 == "test contents")
assert(msg:store(session, "fixed") == "fixed")

local loaded = slimta.message.load(session, "id1")
assert(loaded.id == "id1" and loaded.timestamp == 12345 and loaded.attempts == 0)
assert(loaded.client.ehlo == "testing")
assert(loaded.envelope.sender == "sender@slimta.org")
assert(#loaded.envelope.recipients == 2 and loaded.envelope.recipients[2] == "rcpt2@slimta.org")
assert(tostring(loaded.contents) == "test contents")

loaded:increment_attempts(session)
assert(loaded.attempts == 1 and session.meta.id1.attempts == 1)
assert(slimta.message.load(session, "id1").attempts == 1)

local none, err = slimta.message.load(session, "missing")
assert(none == nil and err == "invalid")

-- Redis-style string values
local m = slimta.message.from_meta({timestamp = "12345", attempts = "3", sender = "",
    recipients = "\0", dest_port = "25", dest_host = "h"}, "raw", "rid")
assert(m.timestamp == 12345 and m.attempts == 3 and m.id == "rid")
assert(m.envelope.sender == "" and #m.envelope.recipients == 0) -- spec 6.24
assert(m.envelope.dest_port == "25" and m.envelope.dest_host == "h")
assert(tostring(m.contents) == "raw")
assert(slimta.message.from_meta({id = "x"}, "").attempts == 0)
assert(slimta.message.from_meta({id = "x"}, "").id == "x")

-- zero recipients and empty recipients in the middle
local e = slimta.message.envelope
assert(e.to_meta(e.new("", {}), {}).recipients == "\0")
local r = e.from_meta({recipients = "\0a\0\0b"}).recipients
assert(#r == 3 and r[1] == "a" and r[2] == "" and r[3] == "b")
assert(#e.from_meta({}).recipients == 0)
