-- Spec 3.2 test_multi_protocol: a TCP hi/there exchange and the ZMQ
-- REQ/REP exchange run concurrently in one kernel. TCP_PORT and ZMQ_PORT
-- are free ports chosen by the Go test.
require "ratchet"

local done = 0

function tcp_server()
    local rec = ratchet.socket.prepare_tcp("localhost", TCP_PORT, "AF_INET")
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(rec.addr)
    s:listen()
    ratchet.thread.attach(tcp_client)
    local c = s:accept()
    assert(c:recv() == "hi")
    c:send("there")
    c:close()
    s:close()
    done = done + 1
end

function tcp_client()
    local rec = ratchet.socket.prepare_tcp("localhost", TCP_PORT, "AF_INET")
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    s:send("hi")
    assert(s:recv() == "there")
    s:close()
    done = done + 1
end

function zmq_req()
    local u = ratchet.zmqsocket.prepare_uri("req:tcp://*:" .. ZMQ_PORT)
    local req = ratchet.zmqsocket.new(u.type)
    req:bind(u.endpoint)
    ratchet.thread.attach(zmq_rep)
    req:send("hello")
    assert(req:recv_all() == "world")
    req:close()
    done = done + 1
end

function zmq_rep()
    local u = ratchet.zmqsocket.prepare_uri("rep:tcp://127.0.0.1:" .. ZMQ_PORT)
    local rep = ratchet.zmqsocket.new(u.type)
    rep:connect(u.endpoint)
    assert(rep:recv() == "hello")
    rep:send("wo", true)
    rep:send("rld")
    rep:close()
    done = done + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(tcp_server)
    ratchet.thread.attach(zmq_req)
end)
kernel:loop()
assert(done == 4, tostring(done))
