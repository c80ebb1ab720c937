require "ratchet"
require "slimta.bus"

bus_port = tonumber(os.getenv("SLIMTA_TEST_BUS_PORT")) or 10025

request_type = {}
request_type.id = "operation falcon"
request_type.stuff = "important"

function request_type.to_xml(self, attachments)
    table.insert(attachments, self.stuff)
    return {
        "<request>",
        " <id>" .. self.id .. "</id>",
        " <stuff part=\"" .. #attachments .. "\"/>",
        "</request>",
    }
end

function request_type.from_xml(node, attachments)
    local ret = {}
    ret.id = node[1].data
    ret.stuff = attachments[tonumber(node[2].attrs.part)]
    return ret
end

response_type = {}
response_type.__index = response_type

function response_type.new(code, message)
    local self = {}
    setmetatable(self, response_type)
    self.code = code
    self.message = message
    return self
end

function response_type.to_xml(self, attachments)
    return {"<response code=\"" .. self.code .. "\">" .. self.message .. "</response>"}
end

function response_type.from_xml(node, attachments)
    return response_type.new(node.attrs.code, node.data)
end

function server_bus()
    local server = slimta.bus.new_server("localhost", bus_port, request_type)
    server:listen()

    ratchet.thread.attach(client_bus)

    local transaction, requests = server:recv_request()
    assert(1 == #requests)
    assert("operation falcon" == requests[1].id)
    assert("important" == requests[1].stuff)

    local response = response_type.new("250", "Ok")
    transaction:send_response({response})
end

function client_bus()
    local client = slimta.bus.new_client("localhost", bus_port, response_type)

    local transaction = client:send_request({request_type})
    local responses = transaction:recv_response()
    assert(1 == #responses)
    assert("250" == responses[1].code)
    assert("Ok" == responses[1].message)
    got_response = true
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(server_bus)
end)
kernel:loop()

assert(got_response)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
