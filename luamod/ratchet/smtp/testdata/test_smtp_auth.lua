-- An AUTH exchange implemented as a custom verb (as slimta's edge does):
-- the hook drives 334 challenges through server.io; AUTH needs the
-- extension, an EHLO and no open transaction.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local handlers = {}
local authed

function handlers:AUTH(arg, server)
    local mech, initial = arg:match("^(%S+)%s*(.*)$")
    if mech ~= "LOGIN" then
        return {code = "504", message = "Invalid authentication mechanism", enhanced_status_code = "5.5.4"}
    end
    server.io:send_reply("334", "VXNlcm5hbWU6")
    server.io:flush_send()
    local user = server.io:recv_line()
    server.io:send_reply("334", "UGFzc3dvcmQ6")
    server.io:flush_send()
    local pass = server.io:recv_line()
    if pass == "*" then
        return {code = "501", message = "Authentication canceled by client", enhanced_status_code = "5.7.0"}
    end
    authed = user .. ":" .. pass
    return {code = "235", message = "Authentication successful", enhanced_status_code = "2.7.0"}
end

function server_ctx(listener)
    local conn = listener:accept()
    local server = ratchet.smtp.server.new(conn, handlers)
    server.extensions:add("AUTH", "LOGIN PLAIN")
    server:handle()
end

function client_ctx(rec)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.smtp.client.new(socket)
    assert(client:get_banner().code == "220")
    local r = client:custom_command("AUTH", "LOGIN")
    assert(r.code == "503", r.code)
    assert(client:ehlo("auth").code == "250")
    assert(client.extensions:has("AUTH") == "LOGIN PLAIN")
    r = client:custom_command("AUTH")
    assert(r.code == "501", r.code)
    r = client:custom_command("AUTH", "CRAM-MD5")
    assert(r.code == "504" and r.message == "5.5.4 Invalid authentication mechanism", r.message)
    r = client:custom_command("AUTH", "LOGIN")
    assert(r.code == "334" and r.message == "VXNlcm5hbWU6", r.code)
    r = client:custom_command("dXNlcg==")
    assert(r.code == "334" and r.message == "UGFzc3dvcmQ6", r.code)
    r = client:custom_command("cGFzcw==")
    assert(r.code == "235" and r.message == "2.7.0 Authentication successful", r.message)
    assert(authed == "dXNlcg==:cGFzcw==")
    client:mailfrom("a@b")
    r = client:custom_command("AUTH", "LOGIN")
    assert(r.code == "503", r.code)
    assert(client:quit().code == "221")
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    ratchet.thread.attach(client_ctx, rec)
    server_ctx(listener)
end)
kernel:loop()
assert(authed)
