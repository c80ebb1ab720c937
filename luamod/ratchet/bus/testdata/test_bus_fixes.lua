-- The 4.17 defects, fixed: connections closed early are dropped (no busy
-- loop), nothing is answered twice, a nil request closes the connection,
-- several local receivers, false/nil local responses, zero-part messages,
-- large attachments, short responses.
require "ratchet"
require "ratchet.bus"

local checks = 0
local function check(cond, msg)
    assert(cond, msg)
    checks = checks + 1
end

local function local_tests()
    local bus = ratchet.bus.new_local()
    local got = {}
    -- three receivers parked at once are served in order
    for i = 1, 3 do
        ratchet.thread.attach(function ()
            local tr, req = bus:recv_request()
            got[#got + 1] = i .. ":" .. req
            if req == "f" then tr:send_response(false)
            elseif req == "n" then tr:send_response(nil)
            else tr:send_response(req .. "!") end
        end)
    end
    ratchet.thread.timer(0.01)
    local tf = bus:send_request("f")
    local tn = bus:send_request("n")
    local tx = bus:send_request("x")
    check(tf:recv_response() == false, "false response")
    check(tn:recv_response() == nil, "nil response")
    check(tx:recv_response() == "x!")
    check(got[1] == "1:f" and got[2] == "2:n" and got[3] == "3:x", table.concat(got, ","))
    -- queued before anyone receives
    local t1 = bus:send_request("q1")
    local t2 = bus:send_request("q2")
    local tr, req = bus:recv_request()
    check(req == "q1")
    tr:send_response(false)
    tr, req = bus:recv_request()
    check(req == "q2")
    check(t1:recv_response() == false)
end

local function raw_send(rec, data, close)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    if #data > 0 then
        local rest = data
        repeat rest = s:send(rest) until not rest
    end
    if close then s:close() end
    return s
end

local function socket_tests(rec, listener)
    local served = 0
    local server = ratchet.bus.new_server(listener, function (main, att, from)
        if main == "drop me" then return nil end
        return {main = main, att = att}
    end, tostring)

    ratchet.thread.attach(function ()
        while true do
            local tr, req = server:recv_request()
            served = served + 1
            if req.main == "stop" then
                tr:send_response("bye")
                return
            end
            tr:send_response(req.main .. "/" .. #req.att .. "/" .. table.concat(req.att, ","):sub(1, 20) .. "/" .. #(req.att[2] or ""))
        end
    end)

    -- a peer that closes after half a message, and one that sends nothing
    raw_send(rec, "\0\2\0\0\0\5ab", true)
    raw_send(rec, "", true)
    -- a request_from_bus returning nil closes the connection
    local s = raw_send(rec, "\0\1\0\0\0\7drop me", false)
    check(s:recv() == "", "dropped connection must be closed")
    s:close()

    -- zero parts: request_from_bus("", {}, from)
    local tr = ratchet.bus.client_transaction.new(raw_send(rec, "\0\0", false), tostring)
    check(tr:recv_response() == "/0//0", "zero parts")

    -- a big attachment arrives whole
    local big = string.rep("0123456789", 300000)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:connect(rec.addr)
    local client = ratchet.bus.new_client(sock, function (r) return r, {"a", big, ""} end, tostring)
    check(client:send_request("big"):recv_response() == "big/3/a," .. big:sub(1, 18) .. "/" .. #big)

    -- the server must not answer anything twice or replay a connection
    sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:connect(rec.addr)
    client = ratchet.bus.new_client(sock, nil, tostring)
    check(client:send_request("stop"):recv_response() == "bye")
    check(served == 3, "served " .. served)
end

local function short_response_test(rec, listener)
    -- a server that closes early: recv_response returns nothing, no EBADF
    ratchet.thread.attach(function ()
        local conn = listener:accept()
        conn:recv()
        conn:send("\0\2\0\0")
        conn:close()
    end)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:connect(rec.addr)
    local client = ratchet.bus.new_client(sock)
    local tr = client:send_request("q")
    check(select("#", tr:recv_response()) == 0, "short response")
end

kernel = ratchet.new(function ()
    local_tests()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    socket_tests(rec, listener)
    short_response_test(rec, listener)
end)
kernel:loop()
assert(checks == 13, tostring(checks))
