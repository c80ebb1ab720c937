-- spec 4.2 test_edge_http_listener, plus the request checks of spec 6.6 #51.
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.http"
local http_client = require "ratchet.http.client"
local h = dofile(TESTDATA .. "/helpers.lua")

local port = free_port()
local client_ok, server_ok = false, false

local function query(method, uri, headers, body)
    local client = http_client.new(h.connect(port))
    return client:query(method, uri, headers, body)
end

local good_headers = {
    ["X-Sender"] = {"sender@slimta.org"},
    ["X-Recipient"] = {"rcpt@slimta.org"},
    ["X-Ehlo"] = {"test"},
    ["Content-Type"] = {"message/rfc822"},
    ["Content-Length"] = {27},
}

ratchet.new(function ()
    local bus_server, bus_client = slimta.bus.new_local()
    local edge = slimta.edge.http.new(h.listen(port), bus_client)
    local acceptor = ratchet.thread.attach(function ()
        while true do
            ratchet.thread.attach(edge:accept())
        end
    end)

    ratchet.thread.attach(function ()
        local code, reason = query("POST", "/email", good_headers, "arbitrary test message data")
        assert(tostring(code) == "500", tostring(code))
        assert(reason == "Testing", reason)

        -- a second message, queued: 200 with the id as body
        local code2, reason2, headers2, body2 = query("POST", "/email/", good_headers, "arbitrary test message data")
        assert(tostring(code2) == "200" and reason2 == "Message queued as abc", reason2)
        assert(body2 == "abc", body2)

        code = query("POST", "/other", good_headers, "x")
        assert(tostring(code) == "404")
        code = query("GET", "/email")
        assert(tostring(code) == "503")
        local hdrs = {["X-Sender"] = {"s@x"}, ["X-Recipient"] = {"r@x"}, ["Content-Length"] = {1}}
        local r, why, rh = query("POST", "/email", hdrs, "x")
        assert(tostring(r) == "406", tostring(r))
        hdrs["Content-Type"] = {"text/plain"}
        assert(tostring(query("POST", "/email", hdrs, "x")) == "406")
        hdrs["Content-Type"] = {"message/rfc822"}
        hdrs["X-Sender"] = nil
        code, reason = query("POST", "/email", hdrs, "x")
        assert(tostring(code) == "400" and reason == "Missing X-Sender header", reason)
        hdrs["X-Sender"] = {"s@x"}
        hdrs["X-Recipient"] = nil
        code, reason = query("POST", "/email", hdrs, "x")
        assert(tostring(code) == "400" and reason == "Missing X-Recipient header", reason)
        hdrs["X-Recipient"] = {"r@x"}
        hdrs["Content-Length"] = nil
        code, reason = query("POST", "/email", hdrs)
        assert(tostring(code) == "411", tostring(code))
        code = query("PUT", "/email", good_headers, "x")
        assert(tostring(code) == "501", tostring(code))
        client_ok = true
    end)

    local transaction, messages = bus_server:recv_request()
    assert(#messages == 1)
    local msg = messages[1]
    assert(msg.client.protocol == "HTTP")
    assert(msg.client.ehlo == "test")
    assert(msg.client.ip == "127.0.0.1", msg.client.ip)
    assert(msg.client.security == "none")
    assert(msg.envelope.sender == "sender@slimta.org")
    assert(#msg.envelope.recipients == 1 and msg.envelope.recipients[1] == "rcpt@slimta.org")
    assert(tostring(msg.contents) == "From: sender@slimta.org\r\n\r\narbitrary test message data",
           tostring(msg.contents))
    transaction:send_response({slimta.message.response.new("451", "Testing")})

    transaction, messages = bus_server:recv_request()
    transaction:send_response({slimta.message.response.new("250", "Message queued as abc", "abc")})

    h.wait_for(function () return client_ok end, "client")
    ratchet.thread.kill(acceptor)
    edge:close()
    server_ok = true
end):loop()
assert(client_ok and server_ok)
