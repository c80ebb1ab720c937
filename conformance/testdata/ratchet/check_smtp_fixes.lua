-- spec 2.13 and defects 4.19-4.22: what the SMTP client and server must do
-- where the original was wrong, seen through the public API.
require "ratchet"
require "ratchet.smtp.server"
require "ratchet.smtp.client"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

local function listen()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    l:setsockopt("SO_REUSEADDR", true)
    l:bind(rec.addr)
    l:listen()
    return l, rec
end

local function connect(rec)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    return s
end

-- Message data: correct transform at every chunk size, leading dot stuffed.
received = {}
closes = 0
local messages = {
    "hello",
    "a\r\n.b\r\n",
    ".starts with a dot\r\nline two",
    "lf\nonly\nlines\n",
    "cr\r\rmixed\r\n..two dots\n.\n",
    "",
    string.rep("0123456\r\n", 50) .. ".",
}
local expected = {}
for i, m in ipairs(messages) do
    local t = m:gsub("\r", ""):gsub("\n", "\r\n")
    expected[i] = t:gsub("\r\n$", "")
end

handlers = {}
function handlers:HAVE_DATA(reply, data, err)
    table.insert(received, data)
end
function handlers:MAIL(reply, address)
    reply.code = 250   -- a number: must still count as accepted (4.22)
end
function handlers:CLOSE()
    closes = closes + 1
end

kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        for _, chunk in ipairs({3, 1024}) do
            local c = ratchet.smtp.client.new(connect(rec), chunk)
            assert(c:get_banner().code == "220")
            assert(c:ehlo("test").code == "250")
            for i, m in ipairs(messages) do
                local mail = c:mailfrom("a@example.com")
                local rcpt = c:rcptto("b@example.com")
                local data = c:data()
                assert(mail.code == "250", mail.code .. " " .. mail.message)
                assert(rcpt.code == "250", rcpt.code .. " " .. rcpt.message)
                assert(data.code == "354", data.code .. " " .. data.message)
                local sent
                if m == "" then
                    sent = c:send_empty_data()
                else
                    sent = c:send_data(m)
                end
                assert(sent.code == "250", sent.code)
            end
            -- HELO does not clear the extensions for later EHLOs (4.22).
            assert(c:helo("test").code == "250")
            assert(c:ehlo("test").code == "250")
            assert(c.extensions:has("PIPELINING"))
            -- Hook names are not client verbs.
            local r = c:custom_command("HAVE_DATA")
            assert(r.code == "500", r.code)
            r = c:custom_command("CLOSE")
            assert(r.code == "500", r.code)
            assert(c:quit().code == "221")
        end
    end)
    for i = 1, 2 do
        local conn = l:accept()
        ratchet.smtp.server.new(conn, handlers):handle()
    end
    l:close()
end)
kernel:loop()
assert(#received == 2 * #messages, #received)
for i = 1, #received do
    local want = expected[(i - 1) % #messages + 1]
    assert(received[i] == want, ("message %d: got %q want %q"):format(i, received[i], want))
end
assert(closes == 2, "CLOSE runs once per session, got " .. closes)

-- Pipelined replies after a multi-line reply are not lost (4.21).
kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        local c = ratchet.smtp.client.new(connect(rec))
        local banner = c:get_banner()
        assert(banner.code == "220" and banner.message == "first\r\nsecond", banner.message)
        local ehlo = c:ehlo("test")
        assert(ehlo.code == "250", tostring(ehlo.code))
        assert(c.extensions:has("PIPELINING"))
        local rset = c:rset()
        assert(rset.code == "250" and rset.message == "reset")
    end)
    local conn = l:accept()
    conn:send("220-first\r\n220 second\r\n250-hi\r\n250 PIPELINING\r\n")
    local pad = ""
    while not pad:match("RSET\r\n") do pad = pad .. conn:recv() end
    conn:send("250 reset\r\n")
    conn:close()
    l:close()
end)
kernel:loop()

-- Size limit: the rest of the message is consumed, default reply 552 (4.20).
got_err = nil
kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        local c = ratchet.smtp.client.new(connect(rec))
        c:get_banner()
        c:ehlo("test")
        c:mailfrom("a@example.com")
        c:rcptto("b@example.com")
        assert(c:data().code == "354")
        local big = ("line of text\r\nQUIT\r\n"):rep(20)
        local r = c:send_data(big)
        assert(r.code == "552", r.code .. " " .. r.message)
        assert(c:rset().code == "250")
        assert(c:quit().code == "221")
    end)
    local conn = l:accept()
    local srv = ratchet.smtp.server.new(conn, {HAVE_DATA = function (self, reply, data, err) got_err = err end})
    srv.extensions:add("SIZE", "100")
    srv:handle()
    l:close()
end)
kernel:loop()
assert(ratchet.error.is(got_err, "MSGTOOBIG"), tostring(got_err))

-- A peer that vanishes: recv_reply raises ECONNCLOSED.
kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        local c = ratchet.smtp.client.new(connect(rec))
        local ok, err = pcall(c.get_banner, c)
        assert(not ok and ratchet.error.is(err, "ECONNCLOSED"), tostring(err))
    end)
    l:accept():close()
end)
kernel:loop()
