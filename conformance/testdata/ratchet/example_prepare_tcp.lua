-- spec 2.4 example (fresh); port 2525 replaced by the runner's port.
require "ratchet"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 2525

kernel = ratchet.new(function ()
    local r = ratchet.socket.prepare_tcp("*", PORT, "AF_INET")
    local s = ratchet.socket.new(r.family, r.socktype, r.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(r.addr)
    s:listen()

    assert(r.family == 2 and r.socktype == 1 and r.protocol == 0)
    assert(r.host == "*")
    assert(tostring(r.addr) == "0.0.0.0")
    assert(s:getsockopt("SO_ACCEPTCONN") == true)

    -- Without a family "*" prefers the AAAA answer.
    local r6 = ratchet.socket.prepare_tcp("*", PORT)
    assert(r6.family == 10)
    assert(tostring(r6.addr) == "::")
end)
kernel:loop()
