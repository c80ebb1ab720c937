-- End to end with curl (driven by TestCurl): curl -> slimta.edge.http ->
-- local bus -> a consumer that checks the message and answers with the
-- response named in the message's Subject.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.http"
local h = dofile(TESTDATA .. "/helpers.lua")

local answers = {
    queued = function () return slimta.message.response.new("250", "Message queued as 0123", "0123") end,
    deferred = function () return slimta.message.response.new("451", "4.3.0 Try again later") end,
    rejected = function () return slimta.message.response.new("550", "5.7.1 Rejected\r\nby policy") end,
}

local seen = 0
ratchet.new(function ()
    local bus_server, bus_client = slimta.bus.new_local()
    local edge = slimta.edge.http.new(h.listen(PORT), bus_client)
    edge:set_timeout(10)
    local acceptor = ratchet.thread.attach(function ()
        while true do
            ratchet.thread.attach(edge:accept())
        end
    end)
    ready()
    for _ = 1, MESSAGES do
        local t, msgs = bus_server:recv_request()
        local m = msgs[1]
        assert(m.client.protocol == "HTTP")
        assert(m.client.ip == "127.0.0.1")
        assert(m.client.ehlo == "curl.example", m.client.ehlo)
        assert(m.envelope.sender == "alice@example.net")
        assert(#m.envelope.recipients == 2 and m.envelope.recipients[2] == "carol@example.org")
        local subject = m.contents.headers.subject[1]
        assert(answers[subject], "unexpected subject " .. tostring(subject))
        assert(tostring(m.contents):find("\r\n\r\nHello from curl\r\n$"), tostring(m.contents))
        seen = seen + 1
        t:send_response({answers[subject]()})
    end
    ratchet.thread.timer(0.2)
    ratchet.thread.kill(acceptor)
    edge:close()
end):loop()
assert(seen == MESSAGES)
