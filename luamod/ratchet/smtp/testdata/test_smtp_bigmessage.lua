-- test_smtp_bigmessage: SIZE 25 advertised, a 26-byte message is refused
-- by the HAVE_DATA hook with 552 and the session continues.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local done = 0
local handlers = {}

function handlers:HAVE_DATA(reply, data, err)
    if ratchet.error.is(err, "MSGTOOBIG") then
        reply.code = "552"
        reply.message = "message too big"
        reply.enhanced_status_code = "5.3.4"
    elseif err then
        error(err)
    end
end

function server_ctx(socket)
    local client = socket:accept()
    local server = ratchet.smtp.server.new(client, handlers)
    server.extensions:add("SIZE", "25")
    server:handle()
    done = done + 1
end

function client_ctx(rec)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.smtp.client.new(socket)
    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    assert(client.extensions:has("SIZE") == "25")
    client:mailfrom("sender@slimta.org")
    client:rcptto("rcpt@slimta.org")
    assert(client:data().code == "354")
    local reply = client:send_data(string.rep("a", 26))
    assert(reply.code == "552", reply.code)
    assert(reply.message == "5.3.4 message too big", reply.message)
    assert(client:quit().code == "221")
    done = done + 1
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(client_ctx, rec)
    server_ctx(socket)
end)
kernel:loop()
assert(done == 2)
