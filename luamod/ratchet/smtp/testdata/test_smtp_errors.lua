-- Server error paths: idle timeout -> 421 4.4.2; a hook raising -> 421
-- 4.3.0 and the error re-raised unchanged; hook names are not verbs; CLOSE
-- runs once; numeric codes from hooks work.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local closes = 0
local boom = {"boom"}
local handlers = {}
function handlers:MAIL(reply, address)
    if address == "explode@x" then error(boom) end
    reply.code = 250 -- a number: must still count as accepted
end
function handlers:CLOSE()
    closes = closes + 1
end
function handlers:HAVE_DATA(reply, data)
    reply.message = "got " .. #data
end

local reported = {}

local function client_a(rec) -- timeout
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    local c = ratchet.smtp.client.new(s)
    assert(c:get_banner().code == "220")
    local r = require("ratchet.smtp.smtp_reply").new("[TIMEOUT]")
    r:recv(c.io)
    assert(r.code == "421" and r.message == "4.4.2 Connection timed out.", r.message)
    c:close()
end

local function client_b(rec) -- hook names, numeric code, raising hook
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    local c = ratchet.smtp.client.new(s)
    assert(c:get_banner().code == "220")
    assert(c:ehlo("b").code == "250")
    local r = c:custom_command("HAVE_DATA", "x")
    assert(r.code == "500", r.code)
    r = c:custom_command("CLOSE")
    assert(r.code == "500", r.code)
    local m = c:mailfrom("ok@x")
    c:rcptto("r@x")
    local d = c:data()
    assert(m.code == "250" and m.message == "2.1.0 Sender <ok@x> Ok", m.message)
    assert(d.code == "354", d.code)
    r = c:send_data("12345")
    assert(r.code == "250" and r.message == "2.6.0 got 5", r.message)
    m = c:mailfrom("explode@x")
    c:rcptto("r@x")
    local ok, err = pcall(c.data, c)
    assert(m.code == "421" and m.message == "4.3.0 Unhandled system error.", tostring(m.message))
    c:close()
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()

    ratchet.thread.attach(client_a, rec)
    local conn = listener:accept()
    conn:set_timeout(0.2)
    ratchet.thread.attach(ratchet.smtp.server.new(conn, handlers))

    ratchet.thread.attach(client_b, rec)
    conn = listener:accept()
    ratchet.thread.attach(ratchet.smtp.server.new(conn, handlers))
end, function (err, thread)
    reported[#reported + 1] = err
end)
kernel:loop()
assert(#reported == 1, #reported)
assert(reported[1] == boom)
assert(closes == 2, closes)

-- the client refuses to put a line break into a command
local smtp_io = require "ratchet.smtp.smtp_io"
local fake_io = smtp_io.new({send = function () end, recv = function () return "" end})
local ok, err = pcall(fake_io.send_command, fake_io, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>")
assert(not ok and tostring(err):match("line break"), tostring(err))
