-- Behaviour beyond the original tests: prepare_* records, identity,
-- tracer events, large recv sizes, close semantics, argument errors.
require "ratchet"

local S = ratchet.socket

-- prepare_tcp special hosts and families (answered locally).
assert(tostring(S.prepare_tcp("*", 1).addr) == "::")
assert(S.prepare_tcp("*", 1).family == 10)
assert(tostring(S.prepare_tcp("*", 1, "AF_INET").addr) == "0.0.0.0")
assert(tostring(S.prepare_tcp("*", 1, "AF_INET6").addr) == "::")
assert(tostring(S.prepare_tcp("127.0.0.1", "25").addr) == "127.0.0.1")
assert(tostring(S.prepare_tcp("::1", 25).addr) == "::1")
assert(S.prepare_tcp("::1", 25).family == 10)
assert(S.prepare_tcp("localhost", 25, "AF_UNSPEC").family == 2)
assert(S.prepare_udp("localhost", 53).socktype == 2)
assert(S.prepare_tcp("LocalHost", 25).host == "LocalHost")
local ok, err = pcall(S.prepare_tcp, "localhost", 25, "AF_BOGUS")
assert(not ok and err:match("Unknown socket address family."))
ok, err = pcall(S.prepare_tcp, "localhost")
assert(not ok and type(err) == "string" and err:match("bad argument #2"))
ok, err = pcall(S.prepare_tcp, "127.0.0.1", 25, "AF_INET6")
assert(not ok and ratchet.error.is(err, "ENOENT"))
assert(err.description == "No DNS records: 127.0.0.1 has no AAAA record", err.description)
ok, err = pcall(S.prepare_tcp, "localhost", 25, "AF_INET6")
assert(not ok and ratchet.error.is(err, "ENOENT"))
ok, err = pcall(S.prepare_udp, "nowhere.invalid", 25)
assert(not ok and ratchet.error.is(err, "ENOENT"))
assert(err.description == "No DNS records: nowhere.invalid has no A record", err.description)
assert(err["function"] == "ratchet.dns.query()")
local long = string.rep("x", 200)
assert(#tostring(S.prepare_unix(long).addr) == 107)

-- gethostname
assert(type(S.gethostname()) == "string" and #S.gethostname() > 0)

-- from_fd
ok, err = pcall(S.from_fd, -1)
assert(not ok and ratchet.error.is(err, "EBADF") and err.description == "Invalid file descriptor.")

local events = {}
local count = 0
kernel = ratchet.new(function ()
    local rec = S.prepare_tcp("localhost", PORT)
    local server = S.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:set_tracer(function (ev, detail) table.insert(events, {ev, detail}) end)
    server:bind(rec.addr)
    server:listen()
    ratchet.thread.attach(function ()
        local c = S.new(rec.family, rec.socktype, rec.protocol)
        c:connect(rec.addr)
        -- a big message in one send; recv larger than BUFSZ is allowed
        c:send(string.rep("a", 100000))
        assert(c:recv() == "done")
        c:close()
        count = count + 1
    end)
    local conn, from = server:accept()
    server:set_tracer(nil)
    local got = 0
    while got < 100000 do
        local d = conn:recv(65536)
        assert(#d > 0 and #d <= 65536)
        got = got + #d
    end
    conn:send("done")
    assert(conn:recv(0) == "")
    assert(conn:recv() == "")

    -- identity: a socket equals itself only, also once closed
    local a, b = S.new_pair()
    assert(a == a and a ~= b)
    assert(a:close() == true)
    assert(a:close() == nil)
    assert(b:close() == true)
    assert(a:get_fd() == -1 and b:get_fd() == -1)
    assert(a ~= b)
    local ok, err = pcall(a.recv, a)
    assert(not ok and ratchet.error.is(err, "EBADF"))
    ok, err = pcall(conn.shutdown, conn, "sideways")
    assert(not ok and type(err) == "string" and err:match("invalid option"))
    ok, err = pcall(server.bind, server, "not an address")
    assert(not ok and type(err) == "string")
    assert(conn:check_errors() == true)
    conn:close()
    server:close()
    count = count + 1
end)
kernel:loop()
assert(count == 2)
assert(events[1][1] == "bind" and tostring(events[1][2]) == "127.0.0.1")
assert(events[2][1] == "listen" and events[2][2] == nil)
assert(events[3][1] == "accept" and events[3][2] == "127.0.0.1")
