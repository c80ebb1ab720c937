require "ratchet"
require "ratchet.bus"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

counter = 0

function request_to_bus(req)
    return tostring(req.id), {tostring(req.stuff)}
end

function request_from_bus(id, attachments)
    return {id = id, stuff = attachments[1]}
end

function response_to_bus(res)
    return tostring(res)
end

function response_from_bus(data)
    return tonumber(data)
end

function server_ctx(socket, c2)
    local bus = ratchet.bus.new_server(socket, request_from_bus, response_to_bus)

    local transaction1, request1 = bus:recv_request()
    assert(request1.id == "operation falcon")
    assert(request1.stuff == "important")

    ratchet.thread.attach(client2_ctx, c2)

    local transaction2, request2 = bus:recv_request()
    assert(request2.id == "operation condor")
    assert(request2.stuff == "confidential")

    transaction1:send_response(1337)
    transaction2:send_response(7357)
    counter = counter + 1
end

function client1_ctx(socket)
    local bus = ratchet.bus.new_client(socket, request_to_bus, response_from_bus)
    local transaction = bus:send_request({id = "operation falcon", stuff = "important"})
    local response = transaction:recv_response()
    assert(response == 1337)
    counter = counter + 1
end

function client2_ctx(socket)
    local bus = ratchet.bus.new_client(socket, request_to_bus, response_from_bus)
    local transaction = bus:send_request({id = "operation condor", stuff = "confidential"})
    local response = transaction:recv_response()
    assert(response == 7357)
    counter = counter + 1
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local c1 = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    c1:connect(rec.addr)
    local c2 = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    c2:connect(rec.addr)

    ratchet.thread.attach(server_ctx, socket, c2)
    ratchet.thread.attach(client1_ctx, c1)
end)
kernel:loop()
assert(counter == 3)
