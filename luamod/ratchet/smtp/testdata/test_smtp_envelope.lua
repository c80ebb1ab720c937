-- HAVE_DATA(reply, data, err, sender, recipients): the engine hands the
-- envelope it accepted to HAVE_DATA, so a handler without MAIL/RCPT hooks
-- still knows it (those commands then run without entering Lua). Checked
-- with and without MAIL/RCPT/DATA hooks, across RSET, a rejected
-- recipient, a null sender and several transactions per session.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local got = {}

local lean = {}
function lean:HAVE_DATA(reply, data, err, sender, recipients)
    got[#got + 1] = {data = data, sender = sender, recipients = recipients}
end

local hooked = {}
function hooked:MAIL(reply, address) end
function hooked:RCPT(reply, address)
    if address == "refused@x" then
        reply.code = "550"
        reply.message = "no"
    end
end
function hooked:DATA(reply) end
hooked.HAVE_DATA = lean.HAVE_DATA

local function session(client, transactions)
    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    for _, t in ipairs(transactions) do
        if t.rset then
            client:mailfrom("dropped@x")
            client:rcptto("dropped@x")
            assert(client:rset().code == "250")
        end
        local mail = client:mailfrom(t.sender)
        local rcpts = {}
        for i, r in ipairs(t.rcpts) do
            rcpts[i] = client:rcptto(r)
        end
        local data = client:data()
        assert(mail.code == "250", mail.message)
        assert(data.code == "354", tostring(data.code) .. " " .. tostring(data.message))
        assert(client:send_data(t.data).code == "250")
    end
    assert(client:quit().code == "221")
end

local transactions = {
    {sender = "a@x", rcpts = {"b@x", "c@x"}, data = "one"},
    {sender = "", rcpts = {"d@x"}, data = "two", rset = true},
    {sender = "e@x", rcpts = {"f@x", "refused@x", "g@x"}, data = "three"},
}

local function expect(i, t, rcpts)
    local g = got[i]
    assert(g, "message " .. i .. " missing")
    assert(g.data == t.data, g.data)
    assert(g.sender == t.sender, tostring(g.sender))
    assert(#g.recipients == #rcpts, "recipients of " .. i .. ": " .. #g.recipients)
    for j, r in ipairs(rcpts) do
        assert(g.recipients[j] == r, g.recipients[j])
    end
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    for _, handlers in ipairs({lean, hooked}) do
        local n = #got
        ratchet.thread.attach(function ()
            local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
            s:connect(rec.addr)
            session(ratchet.smtp.client.new(s), transactions)
        end)
        local c = listener:accept()
        ratchet.smtp.server.new(c, handlers):handle()
        expect(n + 1, transactions[1], {"b@x", "c@x"})
        expect(n + 2, transactions[2], {"d@x"})
        if handlers == hooked then
            expect(n + 3, transactions[3], {"f@x", "g@x"})
        else
            expect(n + 3, transactions[3], {"f@x", "refused@x", "g@x"})
        end
    end
end)
kernel:loop()
assert(#got == 6)
