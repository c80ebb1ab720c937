-- test_socket_multi_recv: list order wins ties; "" for closed peers.
-- The original relied on libevent running both clients (woken in the same
-- poll) before the server's readiness check; here each wake-up has its own
-- timing, so the server waits until both clients have sent, which is the
-- situation the tie rule is about.
require "ratchet"

local S = ratchet.socket
local rec = S.prepare_tcp("localhost", PORT)
local count = 0
local sent = 0

local function client(msg, reply)
    local c = S.new(rec.family, rec.socktype, rec.protocol)
    c:connect(rec.addr)
    c:send(msg)
    sent = sent + 1
    assert(c:recv() == "sync")
    if reply then c:send(reply) end
    assert(c:recv() == "sync")
    c:close()
    count = count + 1
end

kernel = ratchet.new(function ()
    local socket = S.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(client, "data1", "data3")
    ratchet.thread.attach(client, "data2")
    local c1 = socket:accept()
    local c2 = socket:accept()
    while sent < 2 do ratchet.thread.timer(0.001) end

    local data, from = assert(S.multi_recv({c1, c2}))
    assert(data == "data1" and from == c1)
    local data2, from2 = assert(S.multi_recv{c1, c2})
    assert(data2 == "data2" and from2 == c2 and from2 ~= from)

    c1:send("sync")
    c2:send("sync")
    local data3, from3 = assert(S.multi_recv{c1, c2})
    assert(data3 == "data3" and from3 == c1)

    -- Nothing pending: a timeout gives a single nil.
    assert(select("#", S.multi_recv({c1, c2}, 0.01)) == 1)

    c1:send("sync")
    c2:send("sync")
    local d4 = assert(S.multi_recv{c1, c2})
    local d5 = assert(S.multi_recv{c1, c2})
    assert(d4 == "" and d5 == "")
    count = count + 1
end)
kernel:loop()
assert(count == 3)
