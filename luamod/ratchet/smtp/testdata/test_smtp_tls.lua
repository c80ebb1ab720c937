-- test_smtp_tls: TLS from the first byte (tls_immediately), STARTTLS not
-- offered, the STARTTLS hook runs before the banner.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local done = 0
local hook_ran = false
local handlers = {}

function handlers:STARTTLS(reply, extensions)
    hook_ran = true
    extensions:add("X-TLS-ONLY")
end

function handlers:HAVE_DATA(reply, data, err)
    assert(data == "arbitrary test message data", data)
end

function server_ctx(socket)
    local ssl1 = ratchet.ssl.new(ratchet.ssl.SSLv3_server)
    ssl1:load_certs(CERT)
    local client = socket:accept()
    local server = ratchet.smtp.server.new(client, handlers, ssl1, true)
    server:handle()
    assert(server.using_tls)
    assert(hook_ran)
    done = done + 1
end

function client_ctx(rec)
    local ssl2 = ratchet.ssl.new(ratchet.ssl.SSLv3_client)
    ssl2:load_cas(nil, CERT)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local enc = socket:encrypt(ssl2)
    enc:client_handshake()
    assert(enc:verify_certificate("localhost"))

    local client = ratchet.smtp.client.new(socket)
    assert(client:get_banner().code == "220")
    assert(client:ehlo("test").code == "250")
    assert(not client.extensions:has("STARTTLS"))
    assert(client.extensions:has("X-TLS-ONLY"))
    client:mailfrom("sender@slimta.org")
    client:rcptto("rcpt@slimta.org")
    assert(client:data().code == "354")
    assert(client:send_data("arbitrary test message data").code == "250")
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
end, function (err, thread)
    print(debug.traceback(thread, tostring(err), 2))
    os.exit(1)
end)
kernel:loop()
assert(done == 2)
