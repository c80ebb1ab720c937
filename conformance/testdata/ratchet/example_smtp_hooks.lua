-- spec 2.13 example (fresh): MAIL and HAVE_DATA hooks.
require "ratchet"
require "ratchet.smtp.server"
require "ratchet.smtp.client"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

checked = false

local hooks = {}
function hooks:MAIL(reply, sender)
    if not sender:match("@example%.org$") then
        reply.code, reply.message = "550", "unknown sender"
        reply.enhanced_status_code = "5.7.1"
    end
end
function hooks:HAVE_DATA(reply, data, err)
    if not data then reply.code, reply.message = "552", "too big" end
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()

    ratchet.thread.attach(function ()
        local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        s:connect(rec.addr)
        local c = ratchet.smtp.client.new(s)
        assert(c:get_banner().code == "220")
        assert(c:ehlo("there").code == "250")
        local bad = c:mailfrom("someone@example.com")
        local rset = c:rset()
        assert(bad.code == "550", bad.code)
        assert(bad.message == "5.7.1 unknown sender", bad.message)
        assert(rset.code == "250")
        local good = c:mailfrom("someone@example.org")
        local rcpt = c:rcptto("rcpt@example.org")
        local data = c:data()
        assert(good.code == "250" and rcpt.code == "250" and data.code == "354")
        local sent = c:send_data("a message\r\n")
        assert(sent.code == "250", sent.code)
        assert(c:quit().code == "221")
        checked = true
    end)

    local client = listener:accept()
    ratchet.thread.attach(ratchet.smtp.server.new(client, hooks))
end)
kernel:loop()
assert(checked)
