require "ratchet"
require "ratchet.bus"

counter = 0

function server_ctx(bus)
    local transaction1, request1 = bus:recv_request()
    assert(request1.data == "important question!")

    ratchet.thread.attach(client2_ctx, bus)

    local transaction2, request2 = bus:recv_request()
    assert(request2 == 1337)

    transaction1:send_response({data = "important answer!"})
    transaction2:send_response("yes")
    counter = counter + 1
end

function client1_ctx(bus)
    local transaction = bus:send_request({data = "important question!"})
    local response = transaction:recv_response()
    assert(response.data == "important answer!")
    counter = counter + 1
end

function client2_ctx(bus)
    local transaction = bus:send_request(1337)
    local response = transaction:recv_response()
    assert(response == "yes")
    counter = counter + 1
end

kernel = ratchet.new(function ()
    local client_bus, server_bus = ratchet.bus.new_local(kernel)
    ratchet.thread.attach(server_ctx, server_bus)
    ratchet.thread.attach(client1_ctx, client_bus)
end)
kernel:loop()
assert(counter == 3)
