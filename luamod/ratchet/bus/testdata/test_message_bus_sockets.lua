-- test_message_bus_sockets: two clients connected before the server
-- accepts; requests carry an attachment; responses are numbers.
require "ratchet"
require "ratchet.bus"

local done = 0

local function request_to_bus(req)
    return tostring(req.id), {tostring(req.stuff)}
end

local function request_from_bus(main, attachments, from)
    return {id = main, stuff = attachments[1], from = from}
end

function server_ctx(server)
    local tr1, req1 = server:recv_request()
    assert(req1.id == "operation falcon", req1.id)
    assert(req1.stuff == "important")
    assert(tostring(tr1.from) == "127.0.0.1", tostring(tr1.from))
    ratchet.thread.attach(client2_ctx)
    local tr2, req2 = server:recv_request()
    assert(req2.id == "operation condor")
    assert(req2.stuff == "confidential")
    tr1:send_response(1337)
    tr2:send_response(7357)
    done = done + 1
end

function client1_ctx()
    local client = ratchet.bus.new_client(c1, request_to_bus, tonumber)
    local tr = client:send_request({id = "operation falcon", stuff = "important"})
    assert(tr:recv_response() == 1337)
    done = done + 1
end

function client2_ctx()
    local client = ratchet.bus.new_client(c2, request_to_bus, tonumber)
    local tr = client:send_request({id = "operation condor", stuff = "confidential"})
    assert(tr:recv_response() == 7357)
    done = done + 1
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    c1 = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    c1:connect(rec.addr)
    c2 = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    c2:connect(rec.addr)

    local server = ratchet.bus.new_server(socket, request_from_bus, tostring)
    ratchet.thread.attach(client1_ctx)
    server_ctx(server)
end)
kernel:loop()
assert(done == 3)
