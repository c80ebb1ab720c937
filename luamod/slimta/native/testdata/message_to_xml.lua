-- test_message_to_xml (spec 4.2, 3.2).
require "slimta.message"
local writer = require "slimta.xml.writer"

local client1 = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "TLS", "myhost.tld")
local envelope1 = slimta.message.envelope.new("sender@domain.com", {"recipient@domain.com"}, "SMTP", "4.3.2.1", "2500")
local contents1 = slimta.message.contents.new("test contents 1")
local message1 = slimta.message.new(client1, envelope1, contents1, 12345, "one", 5)

local client2 = slimta.message.client.new("HTTP", "there", "5.6.7.8", "SSL", "otherhost.tld")
local envelope2 = slimta.message.envelope.new("sender@domain.com", {"recipient@domain.com"})
local contents2 = slimta.message.contents.new("test contents 2")
local message2 = slimta.message.new(client2, envelope2, contents2)

local w = writer.new()
w:add_item(message1)
w:add_item(message2)
local xml, attachments = w:build({"edge", "messages"})

assert(#attachments == 2)
assert(attachments[1] == "test contents 1")
assert(attachments[2] == "test contents 2")

local expected = table.concat({
    "<edge>",
    " <messages>",
    '  <message id="one" timestamp="12345" attempts="5">',
    "   <client>",
    "    <protocol>SMTP</protocol>",
    "    <ehlo>testing</ehlo>",
    "    <ip>1.2.3.4</ip>",
    "    <security>TLS</security>",
    "    <receiver>myhost.tld</receiver>",
    "   </client>",
    "   <envelope>",
    "    <sender>sender@domain.com</sender>",
    "    <recipient>recipient@domain.com</recipient>",
    '    <destination relayer="SMTP" port="2500">4.3.2.1</destination>',
    "   </envelope>",
    '   <contents part="1"/>',
    "  </message>",
    "  <message>",
    "   <client>",
    "    <protocol>HTTP</protocol>",
    "    <ehlo>there</ehlo>",
    "    <ip>5.6.7.8</ip>",
    "    <security>SSL</security>",
    "    <receiver>otherhost.tld</receiver>",
    "   </client>",
    "   <envelope>",
    "    <sender>sender@domain.com</sender>",
    "    <recipient>recipient@domain.com</recipient>",
    "   </envelope>",
    '   <contents part="2"/>',
    "  </message>",
    " </messages>",
    "</edge>",
    "",
}, "\r\n")
assert(xml == expected, xml)

-- method-call form and the auth element
local c3 = slimta.message.client.new("ESMTPA", "e", "1.1.1.1", "none", "r", "user<&>")
local m3 = slimta.message.new(c3, slimta.message.envelope.new("", {}), slimta.message.contents.new("x"))
local lines = m3:to_xml({})
assert(lines[1] == "<message>")
assert(lines[2][7] == " <auth>user&lt;&amp;&gt;</auth>", lines[2][7])
assert(lines[3][2] == " <sender></sender>")
