-- test_event_timeout: timeout 0 + accept with nobody connecting fails with
-- ETIMEDOUT inside pcall.
require "ratchet"

local ok_seen = false
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    socket:set_timeout(0.0)
    assert(socket:get_timeout() == 0)
    local ok, err = pcall(socket.accept, socket)
    assert(not ok)
    assert(ratchet.error.is(err, "ETIMEDOUT"))
    assert(err.description == "Timed out on accept.")
    assert(err["function"] == "ratchet.socket.accept()")
    ok_seen = true
end)
kernel:loop()
assert(ok_seen)
