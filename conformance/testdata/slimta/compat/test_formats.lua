-- spec 3.3, 3.8, 3.9, 2.15, 6.12-6.13, 6.24: headers, bounces, meta, escaping.
require "slimta.message"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"
require "slimta.policies.add_message_id_header"

local date_pattern = "^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d [+-]%d%d%d%d$"

function new_message(contents, timestamp)
    local client = slimta.message.client.new("ESMTP", "client.example.net", "192.0.2.1", "none", "mx.example.org")
    local envelope = slimta.message.envelope.new("sender@example.net", {"rcpt1@example.org", "rcpt2@example.org"})
    return slimta.message.new(client, envelope, slimta.message.contents.new(contents), timestamp)
end

-- {{{ Date: local time, C locale
local msg = new_message("Subject: x\r\n\r\nbody", 1234567890)
slimta.policies.add_date_header.new():add(msg)
local date = msg.contents.headers.date[1]
assert(date:match(date_pattern), date)
assert(os.date("%a, %d %b %Y %H:%M:%S %z", 1234567890) == date, date)
assert(tostring(msg.contents):find("^Date: " .. date:gsub("%p", "%%%0") .. "\r\nSubject: x\r\n\r\nbody$"))
-- an existing Date header is kept
slimta.policies.add_date_header.new(function () return "other" end):add(msg)
assert(1 == #msg.contents.headers.date)
-- }}}

-- {{{ Message-Id: <uuid.time@host>, header name spelled Message-Id
msg = new_message("Subject: x\r\n\r\nbody", 1234567890)
slimta.policies.add_message_id_header.new("host.example.org"):add(msg)
local mid = msg.contents.headers["Message-ID"][1]
assert(mid:match("^<%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x%.%d+@host%.example%.org>$"), mid)
assert("Message-Id" == msg.contents.header_stack[1])
slimta.policies.add_message_id_header.new("host.example.org"):add(msg)
assert(1 == #msg.contents.headers["message-id"])
-- }}}

-- {{{ Received: local time by default, id when stored, folded when long
msg = new_message("Subject: x\r\n\r\nbody", 1234567890)
msg.id = "abc"
slimta.policies.add_received_header.new():add(msg)
local received = msg.contents.headers.received[1]
local expected = "from client.example.net (unknown [192.0.2.1]) by mx.example.org (slimta 0.0) with ESMTP id abc for <rcpt1@example.org>,<rcpt2@example.org>; "
    .. os.date("%a, %d %b %Y %H:%M:%S %z", 1234567890)
assert(expected == received, received)
local raw = tostring(msg.contents)
local folded = require("slimta.message.header_folding").fold("Received", received)
assert(folded:find("\r\n", 1, true))
assert(raw:sub(1, #folded + 12) == "Received: " .. folded .. "\r\n", raw)
-- a message without recipients
msg = new_message("", 1234567890)
msg.envelope.recipients = {}
slimta.policies.add_received_header.new(nil, true):add(msg)
assert(msg.contents.headers.received[1]:find(" for <>; Fri, 13 Feb 2009 23:31:30 %+0000$"))
-- }}}

-- {{{ bounce (spec 3.9)
msg = new_message("From: sender@example.net\r\nSubject: hello\r\n\r\nbody\r\n", 1234567890)
msg.id = "orig-id"
msg.envelope.dest_host = "mx.example.org"
local response = slimta.message.response.new("550", "5.1.1 No such user")
local bounce = slimta.message.bounce.new():build(msg, response)
assert(nil == bounce.id)
assert(0 == bounce.attempts)
assert("number" == type(bounce.timestamp))
assert("" == bounce.envelope.sender)
assert(1 == #bounce.envelope.recipients)
assert("sender@example.net" == bounce.envelope.recipients[1])
assert(nil == bounce.envelope.dest_host)
assert("ESMTP" == bounce.client.protocol)
assert(msg.client ~= bounce.client)
local text = tostring(bounce.contents)
local boundary = text:match('boundary="(boundary_[%x%-]+)"')
assert(boundary and #boundary == 45, text)
local head = "From: MAILER-DAEMON\r\nTo: sender@example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n"
    .. "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
assert(text:sub(1, #head) == head, text)
assert(bounce.contents.headers["content-type"][1]:find("^multipart/report; report%-type=delivery%-status;%s+boundary=\"" .. boundary:gsub("%p", "%%%0") .. "\"$"))
assert("7bit" == bounce.contents.headers["content-transfer-encoding"][1])
local body = "\r\nThis is a multi-part message in MIME format.\r\n\r\n--" .. boundary .. "\r\nContent-Type: text/plain\r\n\r\n"
    .. "Delivery failed.\r\n\r\nDestination host responded:\r\n550 5.1.1 No such user\r\n\r\n--" .. boundary
    .. "\r\nContent-Type: message/delivery-status\r\n"
assert(text:find(body, 1, true), text)
local tail = "--" .. boundary .. "\r\nContent-Type: message/rfc822\r\n\r\n" .. tostring(msg.contents) .. "\r\n--" .. boundary .. "--\r\n"
assert(text:sub(-#tail) == tail, text)
-- the bounce round-trips through storage unchanged
assert(text == tostring(slimta.message.contents.new(text)))

-- the builder's sender and client; templates get CRLF; unknown keys stay
local client = slimta.message.client.new("HTTP", "x", "127.0.0.1", "none", "here")
local builder = slimta.message.bounce.new("postmaster@example.org", client,
    "Subject: failed\n\n$(sender) $(code) $(message) $(client_ip) $(client_name) $(dest_host) $(dest_port) $(nothing)\n",
    "\nend $(code)\n")
msg.envelope.dest_port = 2525
bounce = builder:build(msg, response, 12345)
assert("postmaster@example.org" == bounce.envelope.sender)
assert(client == bounce.client)
assert(12345 == bounce.timestamp)
assert("Subject: failed\r\n\r\nsender@example.net 550 5.1.1 No such user 192.0.2.1 unknown mx.example.org 2525 $(nothing)\r\n"
    .. tostring(msg.contents) .. "\r\nend 550\r\n" == tostring(bounce.contents), tostring(bounce.contents))
msg.client.protocol = nil
bounce = slimta.message.bounce.new(nil, nil, "$(protocol)\n\n", ""):build(msg, response)
assert(tostring(bounce.contents):find("^$%(protocol%)\r\n\r\n"))
-- }}}

-- {{{ meta (spec 3.3)
msg = new_message("Subject: x\r\n\r\nbody", 12345)
msg.attempts = 2
msg.client.auth_info = "alice"
msg.envelope.dest_relayer, msg.envelope.dest_host, msg.envelope.dest_port = "SMTP", "mx.example.org", 25
local meta = msg:to_meta()
assert(12345 == meta.timestamp and 2 == meta.attempts)
assert("ESMTP" == meta.protocol and "client.example.net" == meta.ehlo and "192.0.2.1" == meta.ip)
assert("none" == meta.security and "mx.example.org" == meta.receiver and "alice" == meta.auth_info)
assert("sender@example.net" == meta.sender)
assert("\0rcpt1@example.org\0rcpt2@example.org" == meta.recipients)
assert("SMTP" == meta.dest_relayer and "mx.example.org" == meta.dest_host and 25 == meta.dest_port)
assert(nil == meta.id)
local mine = {}
assert(mine == slimta.message.to_meta(msg, mine))
local back = slimta.message.from_meta(meta, tostring(msg.contents), "the-id")
assert("the-id" == back.id and 12345 == back.timestamp and 2 == back.attempts)
assert("alice" == back.client.auth_info and 2 == #back.envelope.recipients)
assert("rcpt2@example.org" == back.envelope.recipients[2])
-- string values, as Redis gives them back
back = slimta.message.from_meta({timestamp = "12345", recipients = "\0a@x", sender = ""}, "body")
assert(12345 == back.timestamp and 0 == back.attempts and "" == back.envelope.sender)
assert(1 == #back.envelope.recipients and "a@x" == back.envelope.recipients[1])
-- zero recipients: "\0" and back to none (spec 6.24)
msg.envelope.recipients = {}
meta = msg:to_meta()
assert("\0" == meta.recipients)
assert(0 == #slimta.message.from_meta(meta, "").envelope.recipients)
-- }}}

-- {{{ response
local r = slimta.message.response.new()
assert("" == r.code and "" == r.message and nil == r.data)
r = slimta.message.response.new("250", "Ok", "id")
local code, message = r:as_smtp()
assert("250" == code and "Ok" == message)
local h = r:as_http()
assert("200" == h.code and "Ok" == h.message and "id" == h.data and 2 == h.headers["Content-Length"][1])
for smtp, http in pairs({["250"] = "200", ["421"] = "503", ["450"] = "503", ["451"] = "500",
        ["535"] = "403", ["550"] = "400", ["554"] = "400"}) do
    assert(http == slimta.message.response.new(smtp, "x"):as_http().code, smtp)
end
assert(not pcall(slimta.message.response.new("", "x").as_http, slimta.message.response.new("", "x")))
-- }}}

-- {{{ escaping (spec 6.12, 6.13)
assert("a&lt;b&gt;c&amp;d&quot;e" == slimta.xml.escape('a<b>c&d"e'))
local c2 = slimta.message.client.new("ESMTPA", "x", "1.2.3.4", "TLS", "here", "al<i>ce&co")
local lines = slimta.message.client.to_xml(c2)
assert(" <auth>al&lt;i&gt;ce&amp;co</auth>" == lines[7], lines[7])
-- }}}

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
