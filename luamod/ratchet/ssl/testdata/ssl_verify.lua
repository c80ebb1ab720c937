-- Certificate checks: verification result, host names, verify modes,
-- the methods' roles, RFC 2253 subjects, cipher names of the protocols.
require "ratchet"

local S = ratchet.socket
local SSL = ratchet.ssl

-- run(server_ctx, client_ctx, client_fn, server_fn): handshake over a
-- socket pair, returning the client's and server's results.
local function run(sctx, cctx, cfn, sfn)
    local a, b = S.new_pair()
    local sres
    local t = ratchet.thread.attach(function ()
        local enc = b:encrypt(sctx)
        local ok, err = pcall(enc.server_handshake, enc)
        if ok and sfn then sres = {sfn(enc)} else sres = {ok, err} end
        b:close()
    end)
    local enc = a:encrypt(cctx)
    local ok, err = pcall(enc.client_handshake, enc)
    local cres
    if ok then cres = {cfn(enc)} else cres = {ok, err} end
    a:close()
    ratchet.thread.wait_all({t})
    return cres, sres
end

kernel = ratchet.new(function ()
    local server = SSL.new(SSL.TLSv1_server)
    server:load_certs(CERT)
    local trusting = SSL.new(SSL.TLSv1_client)
    trusting:load_cas(nil, CERT)
    local naive = SSL.new(SSL.TLSv1_client)

    -- trusted, host matches (the certificate has no subjectAltName)
    local c = run(server, trusting, function (e) return e:verify_certificate("localhost") end)
    assert(c[1] == true and c[2] == true and c[3] == true)
    -- without a host: two values
    c = run(server, trusting, function (e) return select("#", e:verify_certificate()) end)
    assert(c[1] == 2)
    -- another host
    c = run(server, trusting, function (e) return e:verify_certificate("mail.example.com") end)
    assert(c[1] == true and c[2] == true and c[3] == false)
    -- not trusted: mode "none" still completes, and reports it
    c = run(server, naive, function (e) return select("#", e:verify_certificate("localhost")), e:verify_certificate("localhost") end)
    assert(c[1] == 2 and c[2] == true and c[3] == false)
    -- cipher names: TLSv1 contexts negotiate TLS 1.2 with ECDHE
    c = run(server, trusting, function (e) return e:get_cipher() end)
    assert(c[1]:match("^ECDHE%-RSA%-"), c[1])
    -- subject of a richer certificate, OpenSSL RFC 2253 form
    local other = SSL.new()
    other:load_certs(OTHER_CERT)
    c = run(other, SSL.new(), function (e) return e:get_rfc2253(), e:verify_certificate("other.example") end)
    assert(c[1] == OTHER_SUBJECT, c[1])
    assert(c[2] == true and c[3] == false)
    -- modern contexts: TLS 1.3 suite names as OpenSSL prints them
    c = run(other, SSL.new(), function (e) return e:get_cipher() end)
    assert(c[1]:match("^TLS_[A-Z0-9_]+$"), c[1])

    -- verify mode "peer" on the client: untrusted server aborts the handshake
    local strict = SSL.new(SSL.TLSv1_client)
    strict:set_verify_mode("peer")
    c = run(server, strict, function () return true end)
    assert(c[1] == false and ratchet.error.is(c[2], "SSLERROR"), tostring(c[2]))
    assert(c[2].description:match("^SSL error: "))
    assert(c[2]["function"] == "ratchet.ssl.session.client_handshake()")
    strict:load_cas(nil, CERT)
    c = run(server, strict, function (e) return e:verify_certificate("localhost") end)
    assert(c[1] == true and c[2] == true and c[3] == true)

    -- server side: no client certificate by default
    local s
    c, s = run(server, trusting, function () return true end,
        function (e) return e:get_rfc2253(), e:verify_certificate() end)
    assert(c[1] == true and s[1] == nil and s[2] == false)
    -- mode "fail": a client without certificate is refused
    local demanding = SSL.new(SSL.TLSv1_server)
    demanding:load_certs(CERT)
    demanding:set_verify_mode("fail")
    c, s = run(demanding, trusting, function (e) return e:read() end)
    assert(s[1] == false, tostring(s[2]))
    -- a client with a trusted certificate is accepted
    demanding:load_cas(nil, CERT)
    local withcert = SSL.new(SSL.TLSv1_client)
    withcert:load_certs(CERT)
    withcert:load_cas(nil, CERT)
    c, s = run(demanding, withcert, function () return true end,
        function (e) return e:get_rfc2253(), e:verify_certificate() end)
    assert(c[1] == true and s[1] == "CN=localhost" and s[2] == true and s[3] == true)

    -- roles of the method constants
    c = run(server, SSL.new(SSL.SSLv3_server), function () return true end)
    assert(c[1] == false and ratchet.error.is(c[2], "SSLERROR"))

    -- argument and file errors
    local ok, err = pcall(SSL.new, "TLSv1")
    assert(not ok and err:match("bad argument #1"))
    ok, err = pcall(SSL.new().load_certs, SSL.new(), "/nonexistent/cert.pem")
    assert(not ok and err:match("Could not read certificate chain file: /nonexistent/cert.pem"))
    ok, err = pcall(SSL.new().load_certs, SSL.new(), CERT, "/nonexistent/key.pem")
    assert(not ok and err:match("Could not read key file: /nonexistent/key.pem"))
    ok, err = pcall(SSL.new().load_cas, SSL.new())
    assert(not ok and err:match("Path to trusted CAs required."))
    ok, err = pcall(SSL.new().load_cas, SSL.new(), nil, "/nonexistent/ca.pem")
    assert(not ok and err:match("Could not read CA file"))
    ok, err = pcall(SSL.new().set_verify_mode, SSL.new(), "sometimes")
    assert(not ok)
    local ctx = SSL.new(SSL.TLSv1, "password")
    ctx:load_randomness()
    ctx:generate_tmp_rsa(512)
    ctx:load_cas(CA_DIR)
    ok, err = pcall(S.new().encrypt, S.new(), SSL.TLSv1)
    assert(not ok and err:match("context expected"))
end)
kernel:loop()
