require "slimta.message"
require "slimta.xml.reader"

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
    <sender>sender2@domain.com</sender>
    <recipient>recipient2@domain.com</recipient>
    <destination relayer="SMTP" port="2500">4.3.2.1</destination>
   </envelope>
   <contents part="2"/>
  </message>
 </messages>
</edge>
]]
local attachments = {"test message data 1", "test message data 2"}

local reader = slimta.xml.reader.new()
local root = reader:parse_xml(xml)

assert(1 == #root)
assert("edge" == root[1].name)
assert(1 == #root[1])
assert("messages" == root[1][1].name)
assert(2 == #root[1][1])

local msg1 = slimta.message.from_xml(root[1][1][1], attachments)
local msg2 = slimta.message.from_xml(root[1][1][2], attachments)

assert("SMTP" == msg1.client.protocol)
assert("testing" == msg1.client.ehlo)
assert("1.2.3.4" == msg1.client.ip)
assert("TLS" == msg1.client.security)
assert("myhost.tld" == msg1.client.receiver)
assert("sender@domain.com" == msg1.envelope.sender)
assert(1 == #msg1.envelope.recipients)
assert("recipient@domain.com" == msg1.envelope.recipients[1])
assert("test message data 1" == tostring(msg1.contents))
assert("one" == msg1.id)
assert("12345" == tostring(msg1.timestamp))
assert(5 == msg1.attempts)
assert(nil == msg1.envelope.dest_host)

assert("HTTP" == msg2.client.protocol)
assert("there" == msg2.client.ehlo)
assert("5.6.7.8" == msg2.client.ip)
assert("SSL" == msg2.client.security)
assert("otherhost.tld" == msg2.client.receiver)
assert("sender2@domain.com" == msg2.envelope.sender)
assert(1 == #msg2.envelope.recipients)
assert("recipient2@domain.com" == msg2.envelope.recipients[1])
assert("test message data 2" == tostring(msg2.contents))
assert(nil == msg2.id)
assert(0 == msg2.attempts)
assert("SMTP" == msg2.envelope.dest_relayer)
assert(2500 == msg2.envelope.dest_port)
assert("4.3.2.1" == msg2.envelope.dest_host)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
