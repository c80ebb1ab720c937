-- slimta.message over a TCP bus in one kernel: ids are not the peer
-- (spec 6.4 #28), codes stay strings (#27), values with XML metacharacters
-- survive (#12), a malformed request is answered and the server goes on
-- (#29).
require "ratchet"
require "slimta.bus"
require "slimta.message"

local m = slimta.message
local port = free_port()
local done = false

local function frame(parts)
    -- (one value each: hton/hton16 pass extra arguments through)
    local count = ratchet.socket.hton16(#parts)
    local out = {count}
    for _, p in ipairs(parts) do
        local len = ratchet.socket.hton(#p)
        out[#out + 1] = len
        out[#out + 1] = p
    end
    return table.concat(out)
end

ratchet.new(function ()
    local server = slimta.bus.new_server("127.0.0.1", port, m)
    server:listen()
    local client = slimta.bus.new_client("127.0.0.1", port, m.response)

    ratchet.thread.attach(function ()
        -- garbage first: answered with an error document, not a dead server
        local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
        local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        s:set_timeout(5)
        s:connect(rec.addr)
        s:send(frame({"<requests><message><oops></requests>"}))
        local got = ""
        repeat
            local chunk = s:recv()
            got = got .. chunk
        until chunk == ""
        s:close()
        assert(got:find('<responses error="', 1, true), got)

        -- an empty request is fine: zero responses
        local ok_resp, why = client:send_request({}):recv_response()
        assert(ok_resp and #ok_resp == 0, why)

        local msg = m.new(m.client.new("ESMTP", "ehlo.example", "192.0.2.1", "none", "receiver.example", "a&b<c>"),
                          m.envelope.new('"x</sender><sender>y"@example.com', {"r1@example.com", "<r2>@example.com"}),
                          m.contents.new("Subject: hi\r\n\r\nbinary \0 body & <stuff>\r\n"),
                          1234567890)
        local responses = client:send_request({msg, msg}):recv_response()
        assert(#responses == 2, tostring(responses))
        assert(responses[1].code == "250", tostring(responses[1].code))
        assert(type(responses[1].code) == "string")
        assert(responses[1].message == "5.1.1 <user@example>: Recipient <ok> & fine", responses[1].message)
        assert(responses[1].data == "id-1")
        assert(responses[2].code == "451")
        done = true
    end)

    -- the empty request
    local t0, reqs0 = server:recv_request()
    assert(#reqs0 == 0)
    t0:send_response({})

    local t, reqs = server:recv_request()
    assert(#reqs == 2)
    local got = reqs[1]
    assert(got.id == nil, "the peer became the id: " .. tostring(got.id))
    assert(got.envelope.sender == '"x</sender><sender>y"@example.com', got.envelope.sender)
    assert(#got.envelope.recipients == 2 and got.envelope.recipients[2] == "<r2>@example.com")
    assert(got.client.auth_info == "a&b<c>", got.client.auth_info)
    assert(got.client.ehlo == "ehlo.example")
    assert(tostring(got.timestamp) == "1234567890")
    assert(tostring(got.contents) == "Subject: hi\r\n\r\nbinary \0 body & <stuff>\r\n")
    t:send_response({m.response.new("250", "5.1.1 <user@example>: Recipient <ok> & fine", "id-1"),
                     m.response.new("451", "later")})
end):loop()
assert(done)
