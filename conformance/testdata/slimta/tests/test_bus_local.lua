require "ratchet"
require "slimta.bus"

request = {id = "operation falcon", stuff = "important"}
response = {code = "250", message = "Ok"}

function server_bus(bus)
    local transaction, requests = bus:recv_request()
    assert(1 == #requests)
    assert("operation falcon" == requests[1].id)
    assert("important" == requests[1].stuff)
    assert(request == requests[1])

    transaction:send_response({response})
end

function client_bus(bus)
    local transaction = bus:send_request({request})
    local responses = transaction:recv_response()
    assert(1 == #responses)
    assert("250" == responses[1].code)
    assert("Ok" == responses[1].message)
    assert(response == responses[1])
    got_response = true
end

function ctx1()
    local server, client = slimta.bus.new_local()
    ratchet.thread.attach(server_bus, server)
    ratchet.thread.attach(client_bus, client)
end

-- and the other way around: the client sends before anyone receives
function ctx2()
    local server, client = slimta.bus.new_local()
    ratchet.thread.attach(client_bus, client)
    ratchet.thread.attach(server_bus, server)
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(got_response)

got_response = false
kernel = ratchet.new(ctx2)
kernel:loop()
assert(got_response)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
