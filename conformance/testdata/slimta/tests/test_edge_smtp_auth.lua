require "ratchet"
require "ratchet.smtp.client"
require "slimta.message"
require "slimta.bus"
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"
require "slimta.hmac"
require "slimta.base64"

smtp_port = tonumber(os.getenv("SLIMTA_TEST_SMTP_PORT")) or 2525

function get_secret(username)
    assert("testuser" == username)
    return "testpass"
end

function connect_client()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:set_timeout(2.0)
    socket:connect(rec.addr)

    local client = ratchet.smtp.client.new(socket)

    local banner = client:get_banner()
    assert("220" == banner.code)

    local ehlo = client:ehlo("test")
    assert("250" == ehlo.code)
    assert(client.extensions:has("AUTH"))

    return client, socket
end

function start_tls(client, socket)
    local starttls = client:starttls()
    assert("220" == starttls.code)

    local ssl = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    ssl:load_cas(nil, "cert.pem")
    local enc = socket:encrypt(ssl)
    enc:client_handshake()

    local got_cert, verified = enc:verify_certificate()
    assert(got_cert)
    assert(verified)

    local ehlo = client:ehlo("test")
    assert("250" == ehlo.code)
    assert(client.extensions:has("AUTH"))
end

function cram_md5_response(challenge_b64, secret)
    local challenge = slimta.base64.decode(challenge_b64)
    local digest = slimta.hmac.encode("md5", challenge, secret)
    local hex = digest:gsub(".", function (c)
        return ("%02x"):format(c:byte())
    end)
    return slimta.base64.encode("testuser " .. hex)
end

function test_plain_notls()
    local client = connect_client()
    assert("CRAM-MD5" == client.extensions:has("AUTH"))

    local auth = client:custom_command("AUTH", "PLAIN")
    assert("504" == auth.code, auth.code)

    client:quit()
end

function test_plain()
    local client, socket = connect_client()
    start_tls(client, socket)

    local auth = client:custom_command("AUTH", "PLAIN")
    assert("334" == auth.code, auth.code)
    auth = client:custom_command("AHRlc3R1c2VyAHRlc3RwYXNz")
    assert("235" == auth.code, auth.code)

    client:quit()
end

function test_plain_initial()
    local client, socket = connect_client()
    start_tls(client, socket)

    local auth = client:custom_command("AUTH", "PLAIN AHRlc3R1c2VyAHRlc3RwYXNz")
    assert("235" == auth.code, auth.code)

    client:quit()
end

function test_plain_badpass()
    local client, socket = connect_client()
    start_tls(client, socket)

    local auth = client:custom_command("AUTH", "PLAIN")
    assert("334" == auth.code, auth.code)
    auth = client:custom_command("AHRlc3R1c2VyAHNzYXB0c2V0")
    assert("535" == auth.code, auth.code)

    auth = client:custom_command("AUTH", "PLAIN AHRlc3R1c2VyAHNzYXB0c2V0")
    assert("535" == auth.code, auth.code)

    client:quit()
end

function test_login()
    local client, socket = connect_client()

    local auth = client:custom_command("AUTH", "LOGIN")
    assert("504" == auth.code, auth.code)

    start_tls(client, socket)

    auth = client:custom_command("AUTH", "LOGIN")
    assert("334" == auth.code, auth.code)
    assert("VXNlcm5hbWU6" == auth.message)
    auth = client:custom_command("dGVzdHVzZXI=")
    assert("334" == auth.code, auth.code)
    assert("UGFzc3dvcmQ6" == auth.message)
    auth = client:custom_command("dGVzdHBhc3M=")
    assert("235" == auth.code, auth.code)

    client:quit()
end

function test_login_badpass()
    local client, socket = connect_client()
    start_tls(client, socket)

    local auth = client:custom_command("AUTH", "LOGIN")
    assert("334" == auth.code, auth.code)
    auth = client:custom_command("dGVzdHVzZXI=")
    assert("334" == auth.code, auth.code)
    auth = client:custom_command("c3NhcHRzZXQ=")
    assert("535" == auth.code, auth.code)

    client:quit()
end

function test_crammd5()
    local client = connect_client()

    local auth = client:custom_command("AUTH", "CRAM-MD5")
    assert("334" == auth.code, auth.code)
    auth = client:custom_command(cram_md5_response(auth.message, "testpass"))
    assert("235" == auth.code, auth.code)

    client:quit()
end

function test_crammd5_badpass()
    local client = connect_client()

    local auth = client:custom_command("AUTH", "CRAM-MD5")
    assert("334" == auth.code, auth.code)
    assert(slimta.base64.decode(auth.message):match("^<.*@testhost>$"))
    auth = client:custom_command(cram_md5_response(auth.message, "ssaptset"))
    assert("535" == auth.code, auth.code)

    client:quit()
end

tests = {
    test_plain_notls,
    test_plain,
    test_plain_initial,
    test_plain_badpass,
    test_login,
    test_login_badpass,
    test_crammd5,
    test_crammd5_badpass,
}

function server_main()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local ssl = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    ssl:load_certs("cert.pem")

    local auth = slimta.edge.smtp.auth.new()
    auth:add_mechanism("PLAIN", get_secret)
    auth:add_mechanism("LOGIN", get_secret)
    auth:add_mechanism("CRAM-MD5", get_secret, "testhost")

    local server_bus, client_bus = slimta.bus.new_local()
    local server = slimta.edge.smtp.new(socket, client_bus)
    server:enable_tls(ssl)
    server:set_timeout(2.0)
    server:enable_authentication(auth)

    for i, test in ipairs(tests) do
        ratchet.thread.attach(function ()
            test()
            tests_done = (tests_done or 0) + 1
        end)
        local handler = server:accept()
        handler()
    end

    server:close()
end

kernel = ratchet.new(server_main, function (err, thread)
    print(debug.traceback(thread, tostring(err)))
    os.exit(1)
end)
kernel:loop()

assert(#tests == tests_done)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
