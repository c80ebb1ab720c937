-- Spec 3.2 test_zmq_send_recv on a free port: REQ binds, a REP peer
-- connects, receives "hello" and answers in two parts.
require "ratchet"

local uri = ratchet.zmqsocket.prepare_uri("req:tcp://127.0.0.1:0")
assert(uri.type == "REQ" and uri.endpoint == "tcp://127.0.0.1:0")

local answered = false

function ctx1()
    local req = ratchet.zmqsocket.new(uri.type)
    assert(req:bind(uri.endpoint) == true)
    local endpoint = req:get_last_endpoint()
    assert(endpoint:match("^tcp://127%.0%.0%.1:%d+$"), endpoint)
    ratchet.thread.attach(ctx2, endpoint)
    assert(req:send("hello") == true)
    local reply = req:recv_all()
    assert(reply == "world", reply)
    answered = true
    req:close()
end

function ctx2(endpoint)
    local u = ratchet.zmqsocket.prepare_uri("rep:" .. endpoint)
    local rep = ratchet.zmqsocket.new(u.type)
    assert(rep:connect(u.endpoint) == true)
    local data, more = rep:recv()
    assert(data == "hello" and more == false)
    assert(rep:send("wo", true) == true)
    assert(rep:send("rld") == true)
    rep:close()
end

kernel = ratchet.new(ctx1)
kernel:loop()
assert(answered)
