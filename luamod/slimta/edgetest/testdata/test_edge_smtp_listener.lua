-- spec 4.2 test_edge_smtp_listener: SMTP edge -> local bus -> the test as
-- queue, answering 451 Testing.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
local smtp_client = require "ratchet.smtp.client"
local h = dofile(TESTDATA .. "/helpers.lua")

local port = free_port()
local client_ok, server_ok = false, false

ratchet.new(function ()
    local bus_server, bus_client = slimta.bus.new_local()
    local edge = slimta.edge.smtp.new(h.listen(port), bus_client)
    edge:set_banner_message(220, "ESMTP slimta test banner")
    edge:set_max_message_size(10485760)

    local acceptor = ratchet.thread.attach(function ()
        while true do
            ratchet.thread.attach(edge:accept())
        end
    end)

    ratchet.thread.attach(function ()
        local client = smtp_client.new(h.connect(port))
        local banner = client:get_banner()
        assert(banner.code == "220", banner.code)
        assert(banner.message == "ESMTP slimta test banner", banner.message)
        local ehlo = client:ehlo("test")
        assert(ehlo.code == "250")
        assert(client.extensions:has("SIZE") == "10485760")
        client:mailfrom("sender@slimta.org")
        client:rcptto("rcpt@slimta.org")
        local data = client:data()
        assert(data.code == "354", data.code)
        local sent = client:send_data("arbitrary test message data")
        assert(sent.code == "451", sent.code)
        assert(sent.message:match("%a+") == "Testing", sent.message)
        assert(sent.message == "4.6.0 Testing", sent.message)
        client:quit()
        client_ok = true
    end)

    local transaction, messages = bus_server:recv_request()
    assert(#messages == 1)
    local msg = messages[1]
    assert(msg.client.protocol == "ESMTP", msg.client.protocol)
    assert(msg.client.ehlo == "test")
    assert(msg.client.ip == "127.0.0.1", msg.client.ip)
    assert(msg.client.security == "none")
    assert(msg.client.receiver and msg.client.receiver ~= "")
    assert(msg.client.auth_info == nil)
    assert(msg.envelope.sender == "sender@slimta.org")
    assert(#msg.envelope.recipients == 1 and msg.envelope.recipients[1] == "rcpt@slimta.org")
    assert(tostring(msg.contents) == "From: sender@slimta.org\r\n\r\narbitrary test message data",
           tostring(msg.contents))
    assert(type(msg.timestamp) == "number")
    transaction:send_response({slimta.message.response.new("451", "Testing")})
    h.wait_for(function () return client_ok end, "client")
    ratchet.thread.kill(acceptor)
    edge:close()
    server_ok = true
end):loop()

assert(client_ok and server_ok)
