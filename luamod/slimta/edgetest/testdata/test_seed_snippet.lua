-- shared/seed/ratchet.rst, third snippet, verbatim inside an accept thread:
-- smtp_edge:accept() returns a callable that ratchet.thread.attach runs.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
local h = dofile(TESTDATA .. "/helpers.lua")

local port = free_port()
local sessions = 0
done = false

ratchet.new(function ()
    local bus_server, bus_client = slimta.bus.new_local()
    local smtp_edge = slimta.edge.smtp.new(h.listen(port), bus_client)
    local loop = ratchet.thread.attach(function ()
        while not done do
            local callable = smtp_edge:accept()
            ratchet.thread.attach(callable)
        end
    end)
    local consumer = ratchet.thread.attach(function ()
        while true do
            local t, msgs = bus_server:recv_request()
            t:send_response({slimta.message.response.new("250", "Ok")})
        end
    end)
    for i = 1, 3 do
        if i == 3 then
            done = true   -- the loop ends after accepting this connection
        end
        local c = h.conversation(h.connect(port))
        assert(c:reply() == "220")
        c:expect("EHLO seed", "250")
        c:expect("MAIL FROM:<a@example.com>", "250")
        c:expect("RCPT TO:<b@example.com>", "250")
        c:expect("DATA", "354")
        c:send("hello\r\n.\r\n")
        assert(c:reply() == "250")
        c:quit()
        sessions = sessions + 1
    end
    ratchet.thread.wait_all({loop})
    ratchet.thread.kill(consumer)
    smtp_edge:close()
end):loop()
assert(sessions == 3)
