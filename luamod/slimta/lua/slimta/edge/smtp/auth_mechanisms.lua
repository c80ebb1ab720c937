-- slimta.edge.smtp.auth_mechanisms (internal): the built-in SASL
-- mechanisms PLAIN, LOGIN and CRAM-MD5 (spec 2.19, 3.6.4) and the decoding
-- helpers they share.
--
-- Mechanism contract: handler:challenge(state, last_response, final_reply)
-- returns nil, challenge_text for another round, the identity on success,
-- or nothing after setting a failure in final_reply.

require "ratchet"
slimta = slimta or require "slimta"
local base64 = require "slimta.base64"
local hmac = require "slimta.hmac"
local uuid = require "slimta.uuid"

local mechanisms = {}

---------------------------------------------------------------------------
-- Decoding helpers (pure functions, fuzzed from Go).

-- decode_base64(text) -> decoded string, or nil when text is not valid
-- base64 (RFC 4648 alphabet, padding optional, surrounding blanks and a
-- trailing CR/LF tolerated). slimta.base64.decode would return "" instead,
-- which cannot be told apart from an empty answer.
function mechanisms.decode_base64(text)
    if type(text) ~= "string" then
        return nil
    end
    text = text:match("^%s*(.-)%s*$")
    if text == "" then
        return ""
    end
    local body, pad = text:match("^([A-Za-z0-9+/]*)(=*)$")
    if not body or #pad > 2 then
        return nil
    end
    local rem = #body % 4
    if rem == 1 then
        return nil
    end
    if #pad > 0 and (#body + #pad) % 4 ~= 0 then
        return nil
    end
    if rem == 2 then
        body = body .. "=="
    elseif rem == 3 then
        body = body .. "="
    end
    local out = base64.decode(body)
    -- reject non-canonical encodings whose unused bits are set
    if base64.encode(out) ~= body then
        return nil
    end
    return out
end

-- decode_plain(b64) -> authzid, authcid, password; or nil, reason.
-- The decoded form must be authzid NUL authcid NUL password with authcid
-- and password non-empty and NUL-free (authzid may be empty).
function mechanisms.decode_plain(text)
    local raw = mechanisms.decode_base64(text)
    if not raw then
        return nil, "invalid base64"
    end
    local authzid, authcid, password = raw:match("^([^%z]*)%z([^%z]+)%z([^%z]+)$")
    if not authzid then
        return nil, "invalid PLAIN string"
    end
    return authzid, authcid, password
end

-- decode_login(b64) -> one LOGIN answer (user name or password), or nil.
-- NUL, CR and LF cannot be part of either.
function mechanisms.decode_login(text)
    local raw = mechanisms.decode_base64(text)
    if not raw or raw:find("[%z\r\n]") then
        return nil
    end
    return raw
end

-- decode_cram(b64) -> username, lower-case hex digest; or nil. The user
-- name is everything before the last space.
function mechanisms.decode_cram(text)
    local raw = mechanisms.decode_base64(text)
    if not raw then
        return nil
    end
    local user, digest = raw:match("^(.+) (%x+)$")
    if not user or user:find("[%z\r\n]") then
        return nil
    end
    return user, digest:lower()
end

-- equal(a, b): comparison whose running time does not depend on where the
-- strings differ (spec 6.1 #9).
function mechanisms.equal(a, b)
    if type(a) ~= "string" or type(b) ~= "string" then
        return false
    end
    local la, lb = #a, #b
    local n = la > lb and la or lb
    local diff = la == lb and 0 or 1
    local byte = string.byte
    for i = 1, n do
        local x, y = byte(a, i) or 0, byte(b, i) or 256
        diff = diff + (x - y) * (x - y)
    end
    return diff == 0
end

local function hex(s)
    return (s:gsub(".", function (c) return string.format("%02x", c:byte()) end))
end

local function fail(reply, code, esc, message)
    reply.code, reply.enhanced_status_code, reply.message = code, esc, message
end

local INVALID = "Authentication credentials invalid"

local function check_secret_fn(secret_fn)
    if type(secret_fn) ~= "function" and not (type(secret_fn) == "table" and getmetatable(secret_fn)
            and getmetatable(secret_fn).__call) then
        error("Secrecy function required.", 3)
    end
end

local local_hostname = require("slimta.edge").hostname

---------------------------------------------------------------------------
-- PLAIN (RFC 4616)

local plain = {}
plain.__index = plain
mechanisms.PLAIN = plain

function plain.new(secret_fn)
    check_secret_fn(secret_fn)
    return setmetatable({secret_fn = secret_fn}, plain)
end

function plain:challenge(state, response, reply)
    if response == nil then
        if state.asked then
            fail(reply, "501", "5.5.2", "Invalid PLAIN authentication string")
            return
        end
        state.asked = true
        return nil, ""
    end
    local authzid, authcid, password = mechanisms.decode_plain(response)
    if not authzid then
        fail(reply, "501", "5.5.2", "Invalid PLAIN authentication string")
        return
    end
    local secret, identity, message = self.secret_fn(authcid, authzid ~= "" and authzid or nil)
    if secret and mechanisms.equal(tostring(secret), password) then
        if message then
            reply.message = message
        end
        return identity or authcid
    end
    fail(reply, "535", "5.7.8", message or INVALID)
end

---------------------------------------------------------------------------
-- LOGIN (draft-murchison-sasl-login)

local login = {}
login.__index = login
mechanisms.LOGIN = login

local USERNAME = base64.encode("Username:")
local PASSWORD = base64.encode("Password:")

function login.new(secret_fn)
    check_secret_fn(secret_fn)
    return setmetatable({secret_fn = secret_fn}, login)
end

function login:challenge(state, response, reply)
    if not state.stage then
        state.stage = "username"
        -- an initial response is the user name (spec 6.1 #8)
        if response == nil then
            return nil, USERNAME
        end
    end
    local value = mechanisms.decode_login(response)
    if not value then
        fail(reply, "501", "5.5.2", "Invalid LOGIN response")
        return
    end
    if state.stage == "username" then
        state.username = value
        state.stage = "password"
        return nil, PASSWORD
    end
    local secret, identity, message = self.secret_fn(state.username)
    if secret and mechanisms.equal(tostring(secret), value) then
        if message then
            reply.message = message
        end
        return identity or state.username
    end
    fail(reply, "535", "5.7.8", INVALID)
end

---------------------------------------------------------------------------
-- CRAM-MD5 (RFC 2195): the only built-in mechanism safe without TLS.

local cram = {secure = true}
cram.__index = cram
mechanisms["CRAM-MD5"] = cram

function cram.new(secret_fn, hostname)
    check_secret_fn(secret_fn)
    return setmetatable({secret_fn = secret_fn, hostname = hostname}, cram)
end

function cram:challenge(state, response, reply)
    if not state.challenge then
        -- any initial response is ignored: the challenge comes first
        state.challenge = "<" .. uuid.generate() .. "." .. os.time() .. "@"
            .. (self.hostname or local_hostname()) .. ">"
        return nil, base64.encode(state.challenge)
    end
    local username, digest = mechanisms.decode_cram(response)
    if not username then
        fail(reply, "501", "5.5.2", "Invalid CRAM-MD5 response")
        return
    end
    local secret, identity, message = self.secret_fn(username)
    if secret then
        local expected = hex(hmac.encode("md5", state.challenge, tostring(secret)))
        if mechanisms.equal(expected, digest) then
            if message then
                reply.message = message
            end
            return identity or username
        end
    end
    fail(reply, "535", "5.7.8", INVALID)
end

return mechanisms
