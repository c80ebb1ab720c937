-- Client half of the two-kernel TCP bus test: COUNT requests from
-- concurrent threads through slimta.bus.new_client.
require "ratchet"
require "slimta.bus"
require "slimta.message"

local m = slimta.message
local ok = 0
ratchet.new(function ()
    local client = slimta.bus.new_client("127.0.0.1", PORT, m.response)
    local threads = {}
    for n = 1, COUNT do
        threads[n] = ratchet.thread.attach(function ()
            local msgs = {}
            for i = 1, (n % 3) + 1 do
                msgs[i] = m.new(m.client.new("ESMTP", "c" .. n, "127.0.0.1", "none", "here"),
                                m.envelope.new("sender@example.com", {"r@example.com"}),
                                m.contents.new("Subject: " .. n .. "\r\n\r\nbody " .. n .. "/" .. i),
                                os.time())
            end
            local responses = assert(client:send_request(msgs):recv_response())
            assert(#responses == #msgs)
            for i, r in ipairs(responses) do
                assert(r.code == "250")
                assert(r.message:match("^Message queued as %d+%." .. i .. "$"), r.message)
                assert(r.data == "body " .. n .. "/" .. i, r.data)
            end
            ok = ok + 1
        end)
    end
    ratchet.thread.wait_all(threads)
end):loop()
assert(ok == COUNT, ok)
