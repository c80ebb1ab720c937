-- spec 2.4: ratchet.socket return values, argument handling, options,
-- tracer events and errors.
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025
UNUSED_PORT = tonumber(os.getenv("RATCHET_TEST_PORT2")) or 10026
SOCKPATH = os.getenv("RATCHET_TEST_UNIX_SOCK") or "/tmp/ratchet-tests.sock"

local function expect_error(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error matching " .. pattern)
    assert(tostring(err):match(pattern), tostring(err))
    return err
end

-- Byte order helpers pass their extra arguments through.
assert(ratchet.socket.hton(1) == "\0\0\0\1")
assert(ratchet.socket.hton(2^32 + 258) == "\0\0\1\2")
assert(ratchet.socket.hton16(258) == "\1\2")
assert(ratchet.socket.hton16(65536 + 1) == "\0\1")
assert(ratchet.socket.ntoh(ratchet.socket.hton(1333337)) == 1333337)
assert(ratchet.socket.ntoh("\255\255\255\255") == 4294967295)
assert(ratchet.socket.ntoh16("\1\2") == 258)
assert(ratchet.socket.ntoh("abc") == nil)
assert(ratchet.socket.ntoh16("abc") == nil)
local v, extra = ratchet.socket.ntoh16("\0\5", true)
assert(v == 5 and extra == true)
local n, a, b = ratchet.socket.ntoh("", "x", nil)
assert(n == nil and a == "x")
assert(select("#", ratchet.socket.ntoh("\0\0\0\1", "x", nil)) == 3)
local s1, s2 = ratchet.socket.hton(7, "more")
assert(s1 == "\0\0\0\7" and s2 == "more")
assert(select("#", ratchet.socket.hton16(7, nil, 3)) == 3)
assert(type(ratchet.socket.gethostname()) == "string")

-- Address records.
local rec = ratchet.socket.prepare_tcp("127.0.0.1", "25")
assert(rec.family == 2 and rec.socktype == 1 and rec.protocol == 0 and rec.host == "127.0.0.1")
assert(tostring(rec.addr) == "127.0.0.1")
rec = ratchet.socket.prepare_tcp("::1", 25)
assert(rec.family == 10 and tostring(rec.addr) == "::1")
rec = ratchet.socket.prepare_udp("127.0.0.1", 53)
assert(rec.family == 2 and rec.socktype == 2 and rec.protocol == 0)
rec = ratchet.socket.prepare_tcp("*", 25, "AF_INET")
assert(tostring(rec.addr) == "0.0.0.0")
rec = ratchet.socket.prepare_tcp("*", 25, "AF_UNSPEC")
assert(rec.family == 10 and tostring(rec.addr) == "::")
rec = ratchet.socket.prepare_tcp("*", 25, "AF_INET6")
assert(rec.family == 10)
expect_error("Unknown socket address family%.", ratchet.socket.prepare_tcp, "*", 25, "AF_BOGUS")
expect_error("bad argument", ratchet.socket.prepare_tcp, "*")
local err = expect_error("", ratchet.socket.prepare_tcp, "127.0.0.1", 25, "AF_INET6")
assert(ratchet.error.is(err, "ENOENT"), tostring(err))
assert(err["function"] == "ratchet.dns.query()")
assert(err.description:match("^No DNS records: "), err.description)
local urec = ratchet.socket.prepare_unix(SOCKPATH)
assert(urec.family == 1 and urec.socktype == 1 and urec.protocol == 0 and urec.host == nil)
assert(tostring(urec.addr) == SOCKPATH)

-- Sockets: userdata without __tostring, methods from the metatable.
local s = ratchet.socket.new()
assert(type(s) == "userdata")
assert(tostring(s):match("^userdata: "), tostring(s))
assert(s == s)
assert(s ~= ratchet.socket.new())
assert(s:get_timeout() == -1)
assert(select("#", s:set_timeout(2.5)) == 0)
assert(s:get_timeout() == 2.5)
assert(math.floor(s:get_fd()) == s:get_fd() and s:get_fd() >= 0)
assert(not pcall(function () s.extra = 1 end), "fields cannot be added to a socket")
expect_error("bad argument", s.set_timeout, s, "soon")
expect_error("bad argument", s.bind, s, "not an address")
expect_error("", ratchet.socket.from_fd, -1)
local ferr = expect_error("", ratchet.socket.from_fd, -1)
assert(ratchet.error.is(ferr, "EBADF"))
assert(s:close() == true)
assert(select("#", s:close()) == 0)
assert(s:get_fd() == -1)
assert(s ~= ratchet.socket.new():close() and true)

-- Options.
s = ratchet.socket.new()
assert(s:getsockopt("SO_TYPE") == 1)
assert(s:getsockopt("SO_DOMAIN") == 2)
assert(s:getsockopt("SO_PROTOCOL") == 6)
assert(s:getsockopt("SO_ERROR") == 0)
assert(s:getsockopt("SO_ACCEPTCONN") == false)
assert(s:getsockopt("SO_KEEPALIVE") == false)
assert(select("#", s:setsockopt("SO_KEEPALIVE", true)) == 0)
assert(s:getsockopt("SO_KEEPALIVE") == true)
s:setsockopt("SO_KEEPALIVE", nil)
assert(s:getsockopt("SO_KEEPALIVE") == false)
s:setsockopt("SO_SNDBUF", 65536)
assert(s:getsockopt("SO_SNDBUF") >= 65536)
s:setsockopt("SO_LINGER", {l_onoff = true, l_linger = 3})
local linger = s:getsockopt("SO_LINGER")
assert(linger.l_onoff == true and linger.l_linger == 3)
s:setsockopt("SO_RCVTIMEO", {tv_sec = 2, tv_usec = 500000})
local tv = s:getsockopt("SO_RCVTIMEO")
assert(tv.tv_sec == 2 and tv.tv_usec == 500000)
assert(s:getsockopt("SO_BOGUS") == nil)
expect_error("", s.setsockopt, s, "SO_BOGUS", 1)
expect_error("bad argument", s.setsockopt, s, "SO_SNDBUF", "big")
assert(type(s:check_errors()) == "boolean" and s:check_errors() == true)
expect_error("invalid option", s.shutdown, s, "sideways")
s:close()

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    local events = {}
    listener:set_tracer(function (...) table.insert(events, {...}) end)
    assert(listener:bind(rec.addr) == true)
    assert(listener:listen() == true)
    assert(listener:getsockopt("SO_ACCEPTCONN") == true)

    local client = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    local cevents = {}
    client:set_tracer(function (...) table.insert(cevents, {...}) end)
    assert(select("#", client:connect(rec.addr)) == 0)
    local conn, from = listener:accept()
    assert(type(conn) == "userdata")
    assert(tostring(from) == "127.0.0.1")
    assert(conn:get_timeout() == -1)

    assert(select("#", client:send("hello")) == 0)
    assert(conn:recv(0) == "")
    assert(conn:recv(2) == "he")
    assert(conn:recv(100) == "llo")
    assert(select("#", client:send(12345)) == 0, "numbers are sent as strings")
    assert(conn:recv() == "12345")

    -- Larger than BUFSZ: at most the requested size, never an error.
    local big = string.rep("x", 20000)
    local rest = client:send(big)
    while rest do rest = client:send(rest) end
    local got = ""
    while #got < 20000 do
        local chunk = conn:recv(16384)
        assert(#chunk > 0 and #chunk <= 16384)
        got = got .. chunk
    end
    assert(got == big)

    assert(client:shutdown("write") == true)
    assert(conn:recv() == "")
    assert(conn:shutdown() == true)
    assert(client:recv() == "")
    assert(client:check_errors() == true)
    assert(client:close() == true)

    -- Writing to a closed peer raises EPIPE/ECONNRESET, never SIGPIPE.
    local c2 = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    c2:connect(rec.addr)
    local conn2 = listener:accept()
    conn2:close()
    local ok, err
    for i = 1, 50 do
        ok, err = pcall(c2.send, c2, string.rep("z", 65536))
        if not ok then break end
        ratchet.thread.timer(0.001)
    end
    assert(not ok, "send to a closed peer must fail")
    assert(ratchet.error.is(err, "EPIPE") or ratchet.error.is(err, "ECONNRESET"), tostring(err))
    assert(err["function"] == "ratchet.socket.send()", tostring(err["function"]))

    -- A closed socket reports EBADF.
    ok, err = pcall(c2.recv, c2)
    c2:close()
    ok, err = pcall(c2.recv, c2)
    assert(not ok and ratchet.error.is(err, "EBADF"), tostring(err))
    ok, err = pcall(c2.send, c2, "x")
    assert(not ok and ratchet.error.is(err, "EBADF"), tostring(err))

    -- Tracer events (name and detail).
    assert(events[1][1] == "bind")
    assert(events[2][1] == "listen" and #events[2] == 1)
    assert(events[3][1] == "accept" and events[3][2] == "127.0.0.1")
    assert(cevents[1][1] == "connect" and cevents[1][2] == "127.0.0.1")
    assert(cevents[2][1] == "send" and cevents[2][2] == 5)
    local saw = {}
    for _, e in ipairs(cevents) do saw[e[1]] = e end
    assert(saw.shutdown and saw.shutdown[2] == "write")
    assert(saw.recv and saw.recv[2] == "")
    assert(saw.close and #saw.close == 1)
    client:set_tracer(nil)

    -- multi_recv: data and the socket, a lone nil on timeout.
    local a1, a2 = ratchet.socket.new_pair()
    local b1, b2 = ratchet.socket.new_pair()
    assert(select("#", ratchet.socket.multi_recv({a1, b1}, 0.01)) == 1)
    assert(ratchet.socket.multi_recv({a1, b1}, 0.01) == nil)
    b2:send("bee")
    local data, which = ratchet.socket.multi_recv({a1, b1})
    assert(data == "bee" and which == b1)
    a2:send("abcdef")
    data, which = ratchet.socket.multi_recv({a1, b1}, nil, 2)
    assert(data == "ab" and which == a1)
    a2:close()
    data, which = ratchet.socket.multi_recv({a1, b1}, 1)
    assert(data == "cdef" and which == a1)
    data, which = ratchet.socket.multi_recv({a1, b1}, 1)
    assert(data == "" and which == a1)

    -- Connection refused and timeouts.
    local rec2 = ratchet.socket.prepare_tcp("127.0.0.1", UNUSED_PORT)
    local c3 = ratchet.socket.new(rec2.family, rec2.socktype, rec2.protocol)
    ok, err = pcall(c3.connect, c3, rec2.addr)
    assert(not ok and ratchet.error.is(err, "ECONNREFUSED"), tostring(err))
    b1:set_timeout(0.01)
    ok, err = pcall(b1.recv, b1)
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT") and err.description == "Timed out on recv.")
    listener:set_timeout(0)
    ok, err = pcall(listener.accept, listener)
    assert(not ok and ratchet.error.is(err, "ETIMEDOUT") and err.description == "Timed out on accept.")
    assert(err["function"] == "ratchet.socket.accept()")

    -- An IPv4 client of an IPv6 wildcard listener shows as ::ffff:a.b.c.d.
    local rec6 = ratchet.socket.prepare_tcp("*", PORT)
    local l6 = ratchet.socket.new(rec6.family, rec6.socktype, rec6.protocol)
    l6:setsockopt("SO_REUSEADDR", true)
    listener:close()
    l6:bind(rec6.addr)
    l6:listen()
    local c4 = ratchet.socket.new(2, 1, 0)
    c4:connect(ratchet.socket.prepare_tcp("127.0.0.1", PORT).addr)
    local conn4, from4 = l6:accept()
    assert(tostring(from4) == "::ffff:127.0.0.1", tostring(from4))
end)
kernel:loop()

-- UNIX sockets: bind replaces a stale socket file but not a regular file.
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_unix(SOCKPATH)
    local l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    l:bind(rec.addr)
    l:listen()
    l:close()
    l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    assert(l:bind(rec.addr) == true)
    l:close()
    os.remove(SOCKPATH)
    local f = assert(io.open(SOCKPATH, "w"))
    f:write("precious")
    f:close()
    l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    local ok, err = pcall(l.bind, l, rec.addr)
    assert(not ok and ratchet.error.is(err, "EADDRINUSE"), tostring(err))
    f = assert(io.open(SOCKPATH))
    assert(f:read("*a") == "precious")
    f:close()
    os.remove(SOCKPATH)
end)
kernel:loop()
