-- slimta.edge.smtp.auth objects and sessions, without a network
-- (spec 2.19). Needs ratchet's SMTP engine only to load slimta.edge.smtp.
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"
local base64 = require "slimta.base64"

local function secret(user) if user == "testuser" then return "testpass" end end
local auth = slimta.edge.smtp.auth.new()
auth:add_mechanism("plain", secret)
auth:add_mechanism("LOGIN", secret)
auth:add_mechanism("CRAM-MD5", secret, "testhost")

-- before TLS only CRAM-MD5; after TLS everything, in registration order
assert(tostring(auth:get_session()) == "CRAM-MD5")
assert(tostring(auth:get_session(false)) == "CRAM-MD5")
assert(tostring(auth:get_session(true)) == "PLAIN LOGIN CRAM-MD5")

-- no secure mechanism -> no session before TLS
local plain_only = slimta.edge.smtp.auth.new()
plain_only:add_mechanism("PLAIN", secret)
assert(plain_only:get_session(false) == nil)
assert(tostring(plain_only:get_session(true)) == "PLAIN")

-- custom mechanism
local custom = {secure = true}
function custom:challenge(state, response, reply)
    if not state.n then
        state.n = 1
        return nil, "c2F5IHNvbWV0aGluZw=="
    end
    if response == "b2s=" then
        return "custom-user"
    end
    reply.code, reply.enhanced_status_code, reply.message = "535", "5.7.8", "nope"
end
auth:add_mechanism("X-CUSTOM", custom)
assert(tostring(auth:get_session(false)) == "CRAM-MD5 X-CUSTOM")
assert(not pcall(auth.add_mechanism, auth, "X-BROKEN", {}))
assert(not pcall(auth.add_mechanism, auth, "PLAIN"))

local function reply()
    return {code = "235", message = "Authentication successful", enhanced_status_code = "2.7.0"}
end

local s = auth:get_session(true)
-- PLAIN with an initial response
local r = reply()
assert(s:challenge("PLAIN AHRlc3R1c2VyAHRlc3RwYXNz", r, {}, nil) == "testuser")
-- PLAIN with "=" (empty initial response) is invalid
r = reply()
assert(s:challenge("PLAIN =", r, {}, nil) == nil and r.code == "501")
-- two-step
local st = {}
r = reply()
local id, ch = s:challenge("plain", r, st, nil)
assert(id == nil and ch == "")
assert(s:challenge("plain", r, st, "AHRlc3R1c2VyAHRlc3RwYXNz") == "testuser")
-- cancel
st, r = {}, reply()
s:challenge("LOGIN", r, st, nil)
assert(s:challenge("LOGIN", r, st, "*") == nil)
assert(r.code == "501" and r.enhanced_status_code == "5.7.0" and r.message == "Authentication canceled by client")
-- unknown mechanism, and PLAIN in a clear-text session
r = reply()
assert(s:challenge("GSSAPI", r, {}, nil) == nil and r.code == "504" and r.enhanced_status_code == "5.5.4")
r = reply()
assert(auth:get_session(false):challenge("PLAIN AHRlc3R1c2VyAHRlc3RwYXNz", r, {}, nil) == nil)
assert(r.code == "504" and r.message == "Invalid authentication mechanism")
-- empty argument: a syntax error, not a crash (spec 6.1 #4)
r = reply()
assert(s:challenge("", r, {}, nil) == nil and r.code == "501" and r.enhanced_status_code == "5.5.4")
-- custom mechanism round trip
st, r = {}, reply()
id, ch = s:challenge("X-CUSTOM", r, st, nil)
assert(ch == "c2F5IHNvbWV0aGluZw==")
assert(s:challenge("X-CUSTOM", r, st, "b2s=") == "custom-user")
