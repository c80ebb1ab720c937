require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
ZMQ_PORT = tonumber(os.getenv("RATCHET_TEST_PORT2")) or 10026

counter = 0

function tcp_server()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(tcp_client)

    local client = socket:accept()
    assert(client:recv() == "hi")
    client:send("there")
    counter = counter + 1
end

function tcp_client()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    socket:send("hi")
    assert(socket:recv() == "there")
    counter = counter + 1
end

function zmq_req()
    local rec = ratchet.zmqsocket.prepare_uri("req:tcp://*:" .. ZMQ_PORT)
    local socket = ratchet.zmqsocket.new(rec.type)
    socket:bind(rec.endpoint)

    ratchet.thread.attach(zmq_rep)

    socket:send("hello")
    assert(socket:recv_all() == "world")
    counter = counter + 1
end

function zmq_rep()
    local rec = ratchet.zmqsocket.prepare_uri("rep:tcp://127.0.0.1:" .. ZMQ_PORT)
    local socket = ratchet.zmqsocket.new(rec.type)
    socket:connect(rec.endpoint)

    assert(socket:recv() == "hello")
    socket:send("wo", true)
    socket:send("rld")
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(tcp_server)
    ratchet.thread.attach(zmq_req)
end)
kernel:loop()
assert(counter == 4)
