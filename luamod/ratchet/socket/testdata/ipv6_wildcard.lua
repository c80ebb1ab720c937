-- prepare_tcp("*", port) prefers the IPv6 wildcard; an IPv4 client then
-- shows as an IPv4-mapped address. Skipped when IPv6 is unavailable.
require "ratchet"

local S = ratchet.socket
local ok6 = pcall(function ()
    local s = S.new(10, 1, 0)
    s:bind(S.prepare_tcp("::1", 0).addr)
    s:close()
end)
if not ok6 then return end

local done = false
kernel = ratchet.new(function ()
    local rec = S.prepare_tcp("*", PORT)
    assert(rec.family == 10 and tostring(rec.addr) == "::")
    local server = S.new(rec.family, rec.socktype, rec.protocol)
    server:setsockopt("SO_REUSEADDR", true)
    server:bind(rec.addr)
    server:listen()
    ratchet.thread.attach(function ()
        local r = S.prepare_tcp("127.0.0.1", PORT)
        local c = S.new(r.family, r.socktype, r.protocol)
        c:connect(r.addr)
        c:close()
        local r6 = S.prepare_tcp("::1", PORT)
        local c6 = S.new(r6.family, r6.socktype, r6.protocol)
        c6:connect(r6.addr)
        c6:close()
    end)
    local c, from = server:accept()
    assert(tostring(from) == "::ffff:127.0.0.1", tostring(from))
    local c6, from6 = server:accept()
    assert(tostring(from6) == "::1", tostring(from6))
    c:close(); c6:close(); server:close()
    done = true
end)
kernel:loop()
assert(done)
