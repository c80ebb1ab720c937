require "slimta.message"
require "slimta.xml.writer"

local client1 = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "myhost.tld")
local envelope1 = slimta.message.envelope.new("sender@domain.com", {"recipient@domain.com"}, "SMTP", "4.3.2.1", "2500")
local contents1 = slimta.message.contents.new("test contents 1")
local message1 = slimta.message.new(client1, envelope1, contents1, 12345, "one", 5)

local client2 = slimta.message.client.new("HTTP", "there", "5.6.7.8", "SSL", "otherhost.tld")
local envelope2 = slimta.message.envelope.new("sender2@domain.com", {"recipient2@domain.com"})
local contents2 = slimta.message.contents.new("test contents 2")
local message2 = slimta.message.new(client2, envelope2, contents2)

local writer = slimta.xml.writer.new()
writer:add_item(message1)
writer:add_item(message2)
local xml, attachments = writer:build({"edge", "messages"})

assert(2 == #attachments)
assert("test contents 1" == attachments[1])
assert("test contents 2" == attachments[2])

local expected = [[
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
    <destination relayer="SMTP" port="2500">4.3.2.1</destination>
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
   </envelope>
   <contents part="2"/>
  </message>
 </messages>
</edge>
]]
expected = expected:gsub("\r?\n", "\r\n")
assert(expected == xml, xml)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
