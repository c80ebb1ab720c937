-- Server half of the two-kernel TCP bus test (TestTwoKernels): a queue
-- stand-in behind slimta.bus.new_server answering COUNT requests.
require "ratchet"
require "slimta.bus"
require "slimta.message"

local handled = 0
ratchet.new(function ()
    local server = slimta.bus.new_server("127.0.0.1", PORT, slimta.message)
    server:listen()
    ready()
    for n = 1, COUNT do
        local t, msgs = server:recv_request()
        local out = {}
        for i, msg in ipairs(msgs) do
            assert(msg.envelope.sender == "sender@example.com")
            assert(msg.client.protocol == "ESMTP")
            local body = tostring(msg.contents):match("\r\n\r\n(.*)$")
            out[i] = slimta.message.response.new("250", "Message queued as " .. n .. "." .. i, body)
        end
        t:send_response(out)
        handled = handled + 1
    end
    server:close()
end):loop()
assert(handled == COUNT)
