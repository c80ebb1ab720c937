-- test_message_bus_local: same-process bus, objects passed by reference.
require "ratchet"
require "ratchet.bus"

local done = 0

function server_ctx(bus)
    local tr1, req1 = bus:recv_request()
    assert(req1.data == "important question!")
    ratchet.thread.attach(client2_ctx, bus)
    local tr2, req2 = bus:recv_request()
    assert(req2 == 1337)
    tr1:send_response({data = "important answer!"})
    tr2:send_response("yes")
    done = done + 1
end

function client1_ctx(bus)
    local tr = bus:send_request({data = "important question!"})
    local res = tr:recv_response()
    assert(res.data == "important answer!")
    done = done + 1
end

function client2_ctx(bus)
    local tr = bus:send_request(1337)
    assert(tr:recv_response() == "yes")
    done = done + 1
end

kernel = ratchet.new(function ()
    local server_bus, client_bus = ratchet.bus.new_local(kernel)
    assert(server_bus == client_bus)
    ratchet.thread.attach(server_ctx, server_bus)
    ratchet.thread.attach(client1_ctx, client_bus)
end)
kernel:loop()
assert(done == 3)
