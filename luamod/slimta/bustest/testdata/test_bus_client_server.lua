-- spec 4.2 test_bus_client_server: a TCP bus round trip in one kernel with
-- the test's own item types (a plain table as both type and instance).
require "ratchet"
require "slimta.bus"

local request_type = {}
request_type.__index = request_type
function request_type:to_xml(attachments)
    attachments[#attachments + 1] = self.stuff
    return {"<request>", " <id>" .. self.id .. "</id>", ' <stuff part="' .. #attachments .. '"/>', "</request>"}
end
function request_type.from_xml(node, attachments)
    return setmetatable({id = node[1].data, stuff = attachments[tonumber(node[2].attrs.part)]}, request_type)
end

local response_type = {}
response_type.__index = response_type
function response_type:to_xml()
    return {'<response code="' .. self.code .. '">' .. self.message .. "</response>"}
end
function response_type.from_xml(node)
    return setmetatable({code = node.attrs.code, message = node.data}, response_type)
end

local port = free_port()
local server_ok, client_ok = false, false
ratchet.new(function ()
    local server = slimta.bus.new_server("127.0.0.1", port, request_type)
    server:listen()
    ratchet.thread.attach(function ()
        local client = slimta.bus.new_client("127.0.0.1", port, response_type)
        local req = setmetatable({id = "operation falcon", stuff = "important"}, request_type)
        local responses = client:send_request({req}):recv_response()
        assert(#responses == 1)
        assert(responses[1].code == "250" and responses[1].message == "Ok")
        client_ok = true
    end)
    local transaction, requests = server:recv_request()
    assert(#requests == 1)
    assert(requests[1].id == "operation falcon", requests[1].id)
    assert(requests[1].stuff == "important")
    transaction:send_response({setmetatable({code = "250", message = "Ok"}, response_type)})
    server_ok = true
end):loop()
assert(server_ok and client_ok)
