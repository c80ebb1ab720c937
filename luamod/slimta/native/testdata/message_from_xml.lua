-- test_message_from_xml (spec 4.2).
require "slimta.message"
local reader = require "slimta.xml.reader"

local xml = [[
<edge>
 <messages>
  <message id="one" timestamp="12345" attempts="5">
   <client>
    <protocol>SMTP</protocol>
    <ehlo>testing</ehlo>
    <ip>1.2.3.4</ip>
    <security>TLS</security>
    <receiver>myhost.tld</receiver>
   </client>
   <envelope>
    <sender>sender@domain.com</sender>
    <recipient>recipient@domain.com</recipient>
   </envelope>
   <contents part="1"/>
  </message>
  <message>
   <client>
    <protocol>HTTP</protocol>
    <ehlo>there</ehlo>
    <ip>5.6.7.8</ip>
    <security>SSL</security>
    <receiver>otherhost.tld</receiver>
   </client>
   <envelope>
    <sender>sender@domain.com</sender>
    <recipient>recipient@domain.com</recipient>
    <destination relayer="SMTP" port="2500">4.3.2.1</destination>
   </envelope>
   <contents part="2"/>
  </message>
 </messages>
</edge>
]]
local attachments = {"test message data 1", "test message data 2"}

local root = reader.new():parse_xml(xml)
assert(#root == 1 and root[1].name == "edge")
assert(#root[1] == 1 and root[1][1].name == "messages")
local messages = root[1][1]
assert(#messages == 2)

local msg1 = slimta.message.from_xml(messages[1], attachments)
local msg2 = slimta.message.from_xml(messages[2], attachments)

assert(msg1.client.protocol == "SMTP")
assert(msg1.client.ehlo == "testing")
assert(msg1.client.ip == "1.2.3.4")
assert(msg1.client.security == "TLS")
assert(msg1.client.receiver == "myhost.tld")
assert(msg1.client.auth_info == nil)
assert(msg1.envelope.sender == "sender@domain.com")
assert(#msg1.envelope.recipients == 1)
assert(msg1.envelope.recipients[1] == "recipient@domain.com")
assert(tostring(msg1.contents) == "test message data 1")
assert(msg1.id == "one")
assert(tostring(msg1.timestamp) == "12345")
assert(msg1.attempts == 5)
assert(msg1.envelope.dest_host == nil)

assert(msg2.client.protocol == "HTTP")
assert(msg2.client.ehlo == "there")
assert(msg2.client.ip == "5.6.7.8")
assert(msg2.client.security == "SSL")
assert(msg2.client.receiver == "otherhost.tld")
assert(msg2.envelope.sender == "sender@domain.com")
assert(#msg2.envelope.recipients == 1)
assert(msg2.envelope.recipients[1] == "recipient@domain.com")
assert(tostring(msg2.contents) == "test message data 2")
assert(msg2.id == nil)
assert(msg2.timestamp == nil)
assert(msg2.attempts == 0)
assert(msg2.envelope.dest_relayer == "SMTP")
assert(msg2.envelope.dest_port == 2500)
assert(msg2.envelope.dest_host == "4.3.2.1")

-- force_id: an id wins, a peer address object (TCP bus) is ignored (6.28)
assert(slimta.message.from_xml(messages[1], attachments, "forced").id == "forced")
local peer = setmetatable({}, {__tostring = function() return "127.0.0.1" end})
assert(slimta.message.from_xml(messages[1], attachments, peer).id == "one")
assert(slimta.message.from_xml(messages[2], attachments, peer).id == nil)

-- missing children leave fields nil; unknown children are ignored
local bare = reader.new():parse_xml("<message><unknown/></message>")[1]
local m = slimta.message.from_xml(bare, {})
assert(m.client == nil and m.envelope == nil and m.contents == nil and m.attempts == 0)
assert(not pcall(slimta.message.from_xml, {name = "other", attrs = {}}, {}))
