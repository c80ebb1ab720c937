-- test_listen_connect: bind "*" AF_INET, then connect to localhost (no
-- family) from the same thread before anyone accepts.
require "ratchet"

local done = false
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("*", PORT, "AF_INET")
    assert(rec.family == 2 and rec.socktype == 1 and rec.protocol == 0)
    assert(tostring(rec.addr) == "0.0.0.0")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local rec2 = ratchet.socket.prepare_tcp("localhost", PORT)
    assert(rec2.family == 2, "localhost without family must be IPv4")
    assert(rec2.host == "localhost")
    local client = ratchet.socket.new(rec2.family, rec2.socktype, rec2.protocol)
    client:connect(rec2.addr)

    local conn, from = socket:accept()
    assert(tostring(from) == "127.0.0.1")
    if ratchet.dns and ratchet.dns.query then
        assert(ratchet.dns.query(tostring(from), "ptr")[1] == "localhost.")
    end
    conn:close()
    client:close()
    socket:close()
    done = true
end)
kernel:loop()
assert(done)
