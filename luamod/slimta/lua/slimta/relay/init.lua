-- slimta.relay: the relay manager. It receives arrays of messages on a bus,
-- groups them by (relayer, destination session key), runs one delivery
-- session per group (in parallel threads when there are several) and
-- answers with exactly one response per message, whatever happens: a
-- failing relayer or session never leaves a request unanswered (§6 #20).

require "ratchet"
slimta = slimta or require "slimta"
require "slimta.bus"
require "slimta.message"

-- slimta.relay may already exist when slimta.relay.smtp was loaded first.
slimta.relay = slimta.relay or {}
local relay = slimta.relay
relay.__index = relay

local function new_response(code, message)
    return slimta.message.response.new(code, message)
end

-- The response a message gets when nothing else filled it in.
local UNHANDLED_CODE, UNHANDLED_TEXT = "451", "4.3.0 Unhandled error in processing."

-- Turns any error value into (code, message). Tables that are not ratchet
-- errors carry {code, message} or {code = , message = } (the convention of
-- the relayers); anything else is a local failure: temporary.
function relay.error_response(err)
    if type(err) == "table" and err.type ~= "ratchet_error" then
        local code = err[1] or err.code
        local message = err[2] or err.message
        if code ~= nil then
            return tostring(code), tostring(message or "")
        end
    end
    if type(err) == "table" and err.type == "ratchet_error" then
        return UNHANDLED_CODE, "4.3.0 " .. tostring(err.description or UNHANDLED_TEXT)
    end
    return UNHANDLED_CODE, UNHANDLED_TEXT
end

---------------------------------------------------------------------------

function relay.new(bus, default_name)
    local self = {
        bus = bus,
        default_name = default_name,
        relayers = {},
    }
    return setmetatable(self, relay)
end

function relay:add_relayer(name, relayer)
    self.relayers[name] = relayer
end

-- Picks the relayer object for one message: the named dest_relayer, else
-- the default name, else any registered relayer. Returns relayer or nil,
-- code, message.
local function pick_relayer(self, message)
    local env = message.envelope
    local name = env and env.dest_relayer
    if name ~= nil then
        local r = self.relayers[name]
        if not r then
            return nil, "451", "4.3.5 No relayer named " .. tostring(name) .. "."
        end
        return r
    end
    if self.default_name ~= nil then
        local r = self.relayers[self.default_name]
        if r then
            return r
        end
        return nil, "451", "4.3.5 Default relayer " .. tostring(self.default_name) .. " is not registered."
    end
    local _, r = next(self.relayers)
    if not r then
        return nil, "451", "4.3.5 No relayer configured."
    end
    return r
end

---------------------------------------------------------------------------
-- A job answers one bus request.

local job = {}
job.__index = job

function relay:accept()
    local transaction, messages = self.bus:recv_request()
    return setmetatable({
        relay = self,
        transaction = transaction,
        messages = messages or {},
    }, job)
end

-- Adds message i to its session (creating it), or gives it a response
-- when it cannot be relayed.
local function group_one(self, message, i, responses, state)
    local relayer, code, text = pick_relayer(self, message)
    if not relayer then
        responses[i] = new_response(code, text)
        return
    end
    local key, info = relayer:build_session_info(message)
    local keyed = state.by_relayer[relayer]
    if not keyed then
        keyed = {}
        state.by_relayer[relayer] = keyed
    end
    local session = keyed[key]
    if not session then
        session = relayer:new_session(info)
        keyed[key] = session
        state.sessions[#state.sessions + 1] = session
        state.members[session] = {}
    end
    local list = state.members[session]
    list[#list + 1] = i
    session:add_message(message, responses, i)
    if not responses[i] then
        responses[i] = new_response()
    end
end

-- Groups the messages into sessions. Messages that cannot be grouped get
-- their response right away.
local function group(self, messages, responses)
    local state = {
        sessions = {},       -- ordered list of sessions
        members = {},        -- session -> indexes of its messages
        by_relayer = {},     -- relayer -> key -> session
    }
    for i, message in ipairs(messages) do
        local ok, err = pcall(group_one, self, message, i, responses, state)
        if not ok then
            responses[i] = new_response(relay.error_response(err))
        end
    end
    return state.sessions, state.members
end

-- Runs one session; when it raises, the responses it left empty get the
-- error (a {code, message} table) or 451 4.3.0.
local function run_session(session, responses, indexes)
    local ok, err = pcall(session.relay_all, session)
    if not ok then
        local code, text = relay.error_response(err)
        for _, i in ipairs(indexes) do
            local r = responses[i]
            if r and (r.code == nil or r.code == "") then
                r.code, r.message = code, text
            end
        end
    end
end

function job:__call(synchronous)
    local messages = self.messages
    local responses = {}
    local sessions, members = group(self.relay, messages, responses)
    if #sessions > 1 and synchronous ~= true and ratchet.thread.self() then
        local threads = {}
        for i, session in ipairs(sessions) do
            threads[i] = ratchet.thread.attach(run_session, session, responses, members[session])
        end
        ratchet.thread.wait_all(threads)
    else
        for _, session in ipairs(sessions) do
            run_session(session, responses, members[session])
        end
    end
    for i = 1, #messages do
        local r = responses[i]
        if not r then
            responses[i] = new_response(UNHANDLED_CODE, UNHANDLED_TEXT)
        elseif r.code == nil or r.code == "" then
            r.code, r.message = UNHANDLED_CODE, UNHANDLED_TEXT
        end
    end
    if self.transaction then
        self.transaction:send_response(responses)
    end
    return responses
end

-- direct_bus() -> a client-side bus whose requests this manager answers in
-- the requesting thread itself (slimta.bus.direct): recv_response() runs
-- the relay job there.
function relay:direct_bus()
    local manager = self
    return slimta.bus.direct(function (messages)
        return setmetatable({relay = manager, messages = messages}, job)()
    end)
end

require "slimta.relay.smtp"

return slimta
