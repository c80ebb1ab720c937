-- The AUTH mechanisms and their decoding helpers, driven directly
-- (spec 2.19, 3.6.4, 6.1 #8 #9).
require "slimta"
local mech = require "slimta.edge.smtp.auth_mechanisms"
local base64 = require "slimta.base64"
local hmac = require "slimta.hmac"

-- strict base64
assert(mech.decode_base64("dGVzdA==") == "test")
assert(mech.decode_base64("dGVzdA") == "test")           -- padding optional
assert(mech.decode_base64("  dGVzdA==\r\n") == "test")  -- blanks around
assert(mech.decode_base64("") == "")
assert(mech.decode_base64("=") == nil)
assert(mech.decode_base64("dGVzdA=") == nil)
assert(mech.decode_base64("dGVzd") == nil)
assert(mech.decode_base64("dGVz dA==") == nil)
assert(mech.decode_base64("dGVzdB==") == nil)            -- non-canonical bits
assert(mech.decode_base64("!!!!") == nil)
assert(mech.decode_base64("AAA===") == nil)

-- PLAIN strings
local z, c, p = mech.decode_plain(base64.encode("\0testuser\0testpass"))
assert(z == "" and c == "testuser" and p == "testpass")
z, c, p = mech.decode_plain(base64.encode("admin\0user\0pw"))
assert(z == "admin" and c == "user" and p == "pw")
for _, bad in ipairs({"\0\0pw", "\0user\0", "user\0pw", "a\0b\0c\0d", "nothing"}) do
    assert(mech.decode_plain(base64.encode(bad)) == nil, bad)
end
assert(mech.decode_plain("not base64!") == nil)

-- LOGIN fields
assert(mech.decode_login("dGVzdHVzZXI=") == "testuser")
assert(mech.decode_login(base64.encode("a\0b")) == nil)
assert(mech.decode_login(base64.encode("a\r\nb")) == nil)
assert(mech.decode_login("%%%") == nil)

-- CRAM-MD5 answers
local u, d = mech.decode_cram(base64.encode("test user ABCDEF0123"))
assert(u == "test user" and d == "abcdef0123")
assert(mech.decode_cram(base64.encode("nodigest")) == nil)
assert(mech.decode_cram(base64.encode("user xyz")) == nil)
assert(mech.decode_cram(base64.encode(" abcd")) == nil)

-- constant-time comparison
assert(mech.equal("abc", "abc"))
assert(not mech.equal("abc", "abd"))
assert(not mech.equal("abc", "abcd"))
assert(not mech.equal("", "a"))
assert(mech.equal("", ""))
assert(not mech.equal(nil, ""))

local calls = {}
local function secret(user, authzid)
    calls[#calls + 1] = {user, authzid}
    if user == "testuser" then
        return "testpass"
    elseif user == "alias" then
        return "pw", "real-identity", "Welcome aboard"
    end
end

local function reply()
    return {code = "235", message = "Authentication successful", enhanced_status_code = "2.7.0"}
end

-- PLAIN: empty challenge first, then the answer
local plain = mech.PLAIN.new(secret)
local st, r = {}, reply()
local id, ch = plain:challenge(st, nil, r)
assert(id == nil and ch == "")
assert(plain:challenge(st, "AHRlc3R1c2VyAHRlc3RwYXNz", r) == "testuser")
assert(calls[#calls][1] == "testuser" and calls[#calls][2] == nil)
-- wrong password
r = reply()
assert(plain:challenge({}, "AHRlc3R1c2VyAHNzYXB0c2V0", r) == nil)
assert(r.code == "535" and r.enhanced_status_code == "5.7.8" and r.message == "Authentication credentials invalid")
-- unknown user
r = reply()
assert(plain:challenge({}, base64.encode("\0nobody\0x"), r) == nil and r.code == "535")
-- identity and message from the secret function; authzid passed on
r = reply()
assert(plain:challenge({}, base64.encode("boss\0alias\0pw"), r) == "real-identity")
assert(r.message == "Welcome aboard" and calls[#calls][2] == "boss")
-- garbage
r = reply()
assert(plain:challenge({}, "garbage!", r) == nil)
assert(r.code == "501" and r.enhanced_status_code == "5.5.2" and r.message == "Invalid PLAIN authentication string")

-- LOGIN: username then password challenge
local login = mech.LOGIN.new(secret)
st, r = {}, reply()
id, ch = login:challenge(st, nil, r)
assert(ch == "VXNlcm5hbWU6")
id, ch = login:challenge(st, "dGVzdHVzZXI=", r)
assert(ch == "UGFzc3dvcmQ6")
assert(login:challenge(st, "dGVzdHBhc3M=", r) == "testuser")
-- initial response = username (spec 6.1 #8)
st, r = {}, reply()
id, ch = login:challenge(st, "dGVzdHVzZXI=", r)
assert(id == nil and ch == "UGFzc3dvcmQ6")
assert(login:challenge(st, "dGVzdHBhc3M=", r) == "testuser")
-- wrong password
st, r = {}, reply()
login:challenge(st, nil, r)
login:challenge(st, "dGVzdHVzZXI=", r)
assert(login:challenge(st, "c3NhcHRzZXQ=", r) == nil and r.code == "535")
-- bad base64
st, r = {}, reply()
login:challenge(st, nil, r)
assert(login:challenge(st, "@@@", r) == nil and r.code == "501" and r.enhanced_status_code == "5.5.2")

-- CRAM-MD5
local cram = mech["CRAM-MD5"].new(secret, "testhost")
assert(cram.secure)
st, r = {}, reply()
id, ch = cram:challenge(st, nil, r)
local challenge = base64.decode(ch)
assert(challenge:match("^<%x+%-%x+%-%x+%-%x+%-%x+%.%d+@testhost>$"), challenge)
local function hex(s) return (s:gsub(".", function (x) return ("%02x"):format(x:byte()) end)) end
local digest = hex(hmac.encode("md5", challenge, "testpass"))
assert(cram:challenge(st, base64.encode("testuser " .. digest), r) == "testuser")
-- upper-case hex is accepted (spec 6.1 #9)
st, r = {}, reply()
cram:challenge(st, nil, r)
digest = hex(hmac.encode("md5", base64.decode(select(2, cram:challenge({}, nil, r)) or ""), "x"))
local ch2 = st.challenge
assert(cram:challenge(st, base64.encode("testuser " .. hex(hmac.encode("md5", ch2, "testpass")):upper()), r) == "testuser")
-- wrong key
st, r = {}, reply()
cram:challenge(st, nil, r)
assert(cram:challenge(st, base64.encode("testuser " .. hex(hmac.encode("md5", st.challenge, "ssaptset"))), r) == nil)
assert(r.code == "535" and r.enhanced_status_code == "5.7.8")
-- malformed answer
st, r = {}, reply()
cram:challenge(st, nil, r)
assert(cram:challenge(st, base64.encode("no-digest-here"), r) == nil)
assert(r.code == "501" and r.message == "Invalid CRAM-MD5 response")

-- a missing secret function is an error
for _, name in ipairs({"PLAIN", "LOGIN", "CRAM-MD5"}) do
    local ok, err = pcall(mech[name].new)
    assert(not ok and tostring(err):find("Secrecy function required.", 1, true), err)
end
