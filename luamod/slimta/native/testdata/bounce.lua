-- slimta.message.bounce (spec 2.16, 3.9, 6.14, 6.25, 6.49).
require "slimta.message"
local bounce = slimta.message.bounce

local client = slimta.message.client.new("ESMTP", "mail.example", "1.2.3.4", "none", "mx.local")
local envelope = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@x", "rcpt2@x"}, "SMTP", "relay.x", 25)
local contents = slimta.message.contents.new("Subject: hello\r\n\r\noriginal body\r\n")
local failed = slimta.message.new(client, envelope, contents, 12345, "orig-id", 2)
local reply = slimta.message.response.new("550", "5.1.1 <rcpt1@x>: Recipient address rejected")

local b = bounce.new()
assert(b.sender == "")
local m = b:build(failed, reply, 99)
assert(getmetatable(m) == getmetatable(failed))
assert(m.envelope.sender == "")
assert(#m.envelope.recipients == 1 and m.envelope.recipients[1] == "sender@slimta.org")
assert(m.id == nil and m.attempts == 0 and m.timestamp == 99)
assert(m.envelope.dest_host == nil)
assert(m.client ~= client and m.client.ip == "1.2.3.4")
assert(m.contents.headers.from[1] == "MAILER-DAEMON")
assert(m.contents.headers.to[1] == "sender@slimta.org")
assert(m.contents.headers.subject[1] == "Undelivered Mail Returned to Sender")
assert(m.contents.headers["auto-submitted"][1] == "auto-replied")

local raw = tostring(m.contents)
local boundary = raw:match('boundary="(boundary_[%x%-]+)"')
assert(boundary and #boundary == #"boundary_" + 36, raw)
assert(m.contents.headers["content-type"][1]
    == 'multipart/report; report-type=delivery-status;     boundary="' .. boundary .. '"')
-- the template's folded Content-Type line is kept byte for byte
assert(raw:find('Content-Type: multipart/report; report-type=delivery-status; \r\n    boundary="'
    .. boundary .. '"\r\n', 1, true))
assert(raw:find("\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n--" .. boundary
    .. "\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\r\nDestination host responded:\r\n"
    .. "550 5.1.1 <rcpt1@x>: Recipient address rejected\r\n\r\n--" .. boundary .. "\r\n", 1, true), raw)
assert(raw:find("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.local\r\n"
    .. "\r\nFinal-Recipient: rfc822; rcpt1@x\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    .. "Remote-MTA: dns; relay.x\r\nDiagnostic-Code: smtp; 550 5.1.1 <rcpt1@x>: Recipient address rejected\r\n"
    .. "\r\nFinal-Recipient: rfc822; rcpt2@x\r\n", 1, true), raw)
assert(raw:find("\r\n--" .. boundary .. "\r\nContent-Type: message/rfc822\r\n\r\n"
    .. "Subject: hello\r\n\r\noriginal body\r\n\r\n--" .. boundary .. "--\r\n", 1, true), raw)
assert(raw:sub(-#boundary - 6) == "--" .. boundary .. "--\r\n")

-- fresh boundary each time; timestamp defaults to now
local m2 = b:build(failed, reply)
assert(tostring(m2.contents):match('boundary="(boundary_[%x%-]+)"') ~= boundary)
assert(math.abs(m2.timestamp - os.time()) < 5)

-- custom sender, client and templates; unknown keys stay verbatim
local bclient = slimta.message.client.new("LOCAL", "me", "127.0.0.1", "none", "me")
local b2 = bounce.new("postmaster@x", bclient, "To: $(sender)\n$(nope) $(protocol) $(client_name) [$(client_ip)] $(dest_host):$(dest_port)\n\n", "\n-- $(code)\n")
local m3 = b2:build(failed, reply, 1)
assert(m3.envelope.sender == "postmaster@x")
assert(m3.client == bclient)
assert(tostring(m3.contents) == "To: sender@slimta.org\r\n$(nope) ESMTP unknown [1.2.3.4] relay.x:25\r\n\r\n"
    .. "Subject: hello\r\n\r\noriginal body\r\n\r\n-- 550\r\n", tostring(m3.contents))
-- a nil protocol leaves $(protocol) in place
local noproto = slimta.message.copy(failed)
noproto.client.protocol = nil
assert(tostring(b2:build(noproto, reply, 1).contents):find("$(protocol)", 1, true))

-- multi-line replies cannot forge MIME structure
local evil = slimta.message.response.new("550", "bad\r\n--" .. "x\r\nContent-Type: text/html\r\n\r\n<b>")
local m4 = b:build(failed, evil, 1)
local r4 = tostring(m4.contents)
assert(not r4:find("\r\n--x", 1, true), r4)
assert(not r4:find("\r\nContent-Type: text/html", 1, true))
assert(r4:find("550 bad\r\n --x\r\n Content-Type: text/html\r\n <b>", 1, true))
-- 4xx replies without an enhanced code get a generic status
local m5 = b:build(failed, slimta.message.response.new("451", "later"), 1)
assert(tostring(m5.contents):find("Status: 4.0.0\r\n", 1, true))

-- no bounce for the null sender, and a nil response raises
local from_null = slimta.message.copy(failed)
from_null.envelope.sender = ""
local none, why = b:build(from_null, reply)
assert(none == nil and type(why) == "string")
assert(not pcall(b.build, b, failed, nil))
