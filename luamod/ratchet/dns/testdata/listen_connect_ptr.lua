-- Spec 3.2 test_listen_connect (on the free port PORT): the peer address
-- of a connection to "localhost" maps back to "localhost." by PTR.
require "ratchet"

local checked = false
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("*", PORT, "AF_INET")
    local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen()

    local crec = ratchet.socket.prepare_tcp("localhost", PORT)
    local client = ratchet.socket.new(crec.family, crec.socktype, crec.protocol)
    client:connect(crec.addr)

    local conn, peer = server:accept()
    assert(tostring(peer) == "127.0.0.1", tostring(peer))
    assert(ratchet.dns.query(tostring(peer), "ptr")[1] == "localhost.")
    conn:close()
    client:close()
    server:close()
    checked = true
end)
kernel:loop()
assert(checked)
assert(DNS_QUERIES() == 0)
