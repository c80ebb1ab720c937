-- slimta.hmac.encode(method, data, key) returns raw digests (spec 2.3).
local hmac = require "slimta.hmac"

local function hex(s)
    return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- RFC 2202 / RFC 4231 test case 2: key "Jefe".
local data, key = "what do ya want for nothing?", "Jefe"
local expect = {
    md5 = "750c783e6ab0b503eaa86e310a5db738",
    sha1 = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    sha224 = "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
    sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    sha384 = "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
        .. "8e2240ca5e69e2c78b3239ecfab21649",
    sha512 = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        .. "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
}
for method, digest in pairs(expect) do
    assert(hex(hmac.encode(method, data, key)) == digest, method)
end
assert(hmac.encode("md_null", data, key) == "")

local ok, err = pcall(hmac.encode, "bogus", data, key)
assert(not ok and tostring(err):find("Invalid EVP method name.", 1, true), tostring(err))

-- The CRAM-MD5 usage from the AUTH test.
local challenge = "<1896.697170952@postoffice.reston.mci.net>"
local digest = hex(hmac.encode("md5", challenge, "tanstaaftanstaaf"))
assert(digest == "b913a602c7eda7a495b4e6e7334d3890", digest)
