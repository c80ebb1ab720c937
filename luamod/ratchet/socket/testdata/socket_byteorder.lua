-- test_socket_byteorder, plus the pass-through of extra arguments.
require "ratchet"

local S = ratchet.socket
assert(S.ntoh(S.hton(1333337)) == 1333337)
assert(#S.hton(1) == 4 and #S.hton16(1) == 2)
assert(S.hton(1) == "\0\0\0\1")
assert(S.hton(2^32 + 5) == "\0\0\0\5")
assert(S.hton(-1) == "\255\255\255\255")
assert(S.hton16(0x10203) == "\2\3")
assert(S.ntoh16("\1\2") == 258)
assert(S.ntoh("abc") == nil and S.ntoh16("abc") == nil)
local v, extra1, extra2 = S.ntoh16("\0\7", true, "x")
assert(v == 7 and extra1 == true and extra2 == "x")
local s, e = S.hton(73, "incomplete")
assert(#s == 4 and e == "incomplete")
local a, b = S.ntoh(nil, true)
assert(a == nil and b == true)
-- Lua 5.2 takes integer arguments by truncation (spec 5.10).
assert(S.hton(1.5) == S.hton(1) and S.hton16(-0.5) == "\0\0")

local count = 0
kernel = ratchet.new(function ()
    local rec = S.prepare_tcp("localhost", PORT)
    local socket = S.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(function ()
        local c = S.new(rec.family, rec.socktype, rec.protocol)
        c:connect(rec.addr)
        c:send(S.hton(1333337))
        assert(S.ntoh(c:recv()) == 73)
        c:close()
        count = count + 1
    end)
    local client = socket:accept()
    local data = client:recv()
    assert(#data == 4)
    assert(S.ntoh(data) == 1333337)
    client:send(S.hton(73))
    count = count + 1
end)
kernel:loop()
assert(count == 2)
