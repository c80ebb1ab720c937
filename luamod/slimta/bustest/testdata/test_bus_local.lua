-- spec 4.2 test_bus_local: one request/response over slimta.bus.new_local().
require "ratchet"
require "slimta.bus"

local request_type, response_type = {}, {}
local sent_response
local server_done, client_done = false, false

ratchet.new(function ()
    local server_bus, client_bus = slimta.bus.new_local()
    assert(server_bus and client_bus)
    local function server()
        local transaction, requests = server_bus:recv_request()
        assert(#requests == 1)
        assert(requests[1].id == "operation falcon")
        assert(requests[1].stuff == "important")
        sent_response = setmetatable({code = "250", message = "Ok"}, response_type)
        transaction:send_response({sent_response})
        server_done = true
    end
    local function client()
        local req = setmetatable({id = "operation falcon", stuff = "important"}, request_type)
        local transaction = client_bus:send_request({req})
        local responses = transaction:recv_response()
        assert(#responses == 1)
        assert(responses[1].code == "250" and responses[1].message == "Ok")
        assert(rawequal(responses[1], sent_response))   -- passed by reference
        client_done = true
    end
    -- either order must work
    ratchet.thread.attach(server)
    ratchet.thread.attach(client)
end):loop()
assert(server_done and client_done)

server_done, client_done = false, false
ratchet.new(function ()
    local b = slimta.bus.new_local()
    ratchet.thread.attach(function ()
        local t = b:send_request({"ping"})
        assert(t:recv_response()[1] == "pong")
        client_done = true
    end)
    ratchet.thread.attach(function ()
        local t, req = b:recv_request()
        assert(req[1] == "ping")
        t:send_response({"pong"})
        server_done = true
    end)
end):loop()
assert(server_done and client_done)
