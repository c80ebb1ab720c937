-- slimta.edge.smtp.auth: SMTP AUTH for the SMTP edge (spec 2.19, 3.6.4).
--
--   local auth = slimta.edge.smtp.auth.new()
--   auth:add_mechanism("CRAM-MD5", secret_fn)   -- offered before TLS too
--   auth:add_mechanism("PLAIN", secret_fn)      -- offered only over TLS
--   edge:enable_authentication(auth)
--
-- secret_fn(username [, authzid]) -> secret [, identity] [, message].
-- Mechanisms whose handler has a truthy `secure` field (CRAM-MD5) are
-- offered on clear-text connections; all of them once TLS is active.

require "ratchet"
slimta = slimta or require "slimta"
-- The original required slimta.edge.smtp to be loaded first; loading it
-- here makes the order irrelevant.
local smtp = require "slimta.edge.smtp"
local mechanisms = require "slimta.edge.smtp.auth_mechanisms"

local auth = {}
auth.__index = auth

local session = {}
session.__index = session

-- private key of the per-exchange state: the mechanism chosen
local CHOSEN = setmetatable({}, {__tostring = function () return "chosen mechanism" end})

function auth.new()
    return setmetatable({
        all_mechanisms = {},
        secure_mechanisms = {},
        order = {},
        PLAIN = mechanisms.PLAIN,
        LOGIN = mechanisms.LOGIN,
        ["CRAM-MD5"] = mechanisms["CRAM-MD5"],
    }, auth)
end

-- add_mechanism(name, ...): built-ins take (secret_fn) or, for CRAM-MD5,
-- (secret_fn [, hostname]); any other name takes a handler object with a
-- challenge method.
function auth:add_mechanism(name, ...)
    name = tostring(name):upper()
    local class = mechanisms[name]
    local handler
    if type(class) == "table" and class.new then
        handler = class.new(...)
    else
        handler = ...
        if type(handler) ~= "table" or type(handler.challenge) ~= "function" then
            error("Authentication mechanism " .. name .. " needs a handler object with a challenge method.", 2)
        end
    end
    if not self.all_mechanisms[name] then
        self.order[#self.order + 1] = name
    end
    self.all_mechanisms[name] = handler
    if handler.secure then
        self.secure_mechanisms[name] = handler
    else
        self.secure_mechanisms[name] = nil
    end
end

-- get_session([encrypted]) -> session offering every mechanism (encrypted)
-- or only the secure ones; nil when that set is empty.
function auth:get_session(encrypted)
    local set = encrypted and self.all_mechanisms or self.secure_mechanisms
    local names = {}
    for _, name in ipairs(self.order) do
        if set[name] then
            names[#names + 1] = name
        end
    end
    if #names == 0 then
        return nil
    end
    return setmetatable({mechanisms = set, names = names}, session)
end

-- tostring(session): the EHLO AUTH parameter, in registration order.
function session:__tostring()
    return table.concat(self.names, " ")
end

local function fail(reply, code, esc, message)
    reply.code, reply.enhanced_status_code, reply.message = code, esc, message
end

-- challenge(arg, final_reply, state, last_response): one round of an AUTH
-- exchange. Returns the identity on success, nil and a challenge for
-- another round, or nothing with the failure set in final_reply.
function session:challenge(arg, reply, state, response)
    local handler = state[CHOSEN]
    if not handler then
        local name, initial = tostring(arg or ""):match("^%s*([%w%-_]+)%s*(.-)%s*$")
        if not name then
            fail(reply, "501", "5.5.4", "Syntax error in parameters or arguments")
            return
        end
        handler = self.mechanisms[name:upper()]
        if not handler then
            fail(reply, "504", "5.5.4", "Invalid authentication mechanism")
            return
        end
        state[CHOSEN] = handler
        if initial == "" then
            initial = nil
        elseif initial == "=" then
            initial = ""
        end
        return handler:challenge(state, initial, reply)
    end
    if response ~= nil and response:match("^%s*(.-)%s*$") == "*" then
        fail(reply, "501", "5.7.0", "Authentication canceled by client")
        return
    end
    return handler:challenge(state, response or "", reply)
end

auth.mechanisms = mechanisms
smtp.auth = auth
smtp.auth_mechanisms = mechanisms
return auth
