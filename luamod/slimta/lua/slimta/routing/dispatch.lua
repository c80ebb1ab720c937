-- slimta.routing.dispatch: post-queue glue between the queue and the relay
-- manager (an addition of this port; see scripts/README.md).
--
-- Routing may split one message into several (one per recipient domain,
-- slimta.routing.mx), and a relayer may accept some recipients of a message
-- and refuse others (response.rcpt_failures). The queue however expects
-- exactly one response per message and acts on the whole message (§6 #21,
-- #46). dispatch:relay() routes, relays all pieces in one request, works
-- out the result of every recipient and returns one response per message:
--
--   * every recipient delivered            -> the 2xx response;
--   * every recipient failed the same way  -> that response (4xx: the queue
--     retries, 5xx: the queue bounces);
--   * mixed results, with a storage engine -> recipients that failed
--     permanently get a bounce of their own, delivered ones are dropped
--     from the stored message, and the response is the temporary failure
--     (if any recipient failed temporarily) so that the queue retries just
--     those, else the 2xx so that the queue deletes the message.
--
-- Usage, as the filter of a post-queue proxy:
--
--   local d = slimta.routing.dispatch.new(router, {storage = storage})
--   slimta.bus.proxy.new(from_bus, relay_bus, d:filter())

slimta = slimta or require "slimta"
require "slimta.message"
slimta.routing = slimta.routing or {}
slimta.routing.dispatch = slimta.routing.dispatch or {}
local dispatch = slimta.routing.dispatch
dispatch.__index = dispatch

-- os.clock is wall time since start in this runtime (gopher-lua), which is
-- what elapsed-time logging wants.
local clock = os.clock

local function response(code, message)
    return slimta.message.response.new(code, message)
end

-- options: storage (engine, for partial results), bounce_builder
-- (default slimta.message.bounce.new()), log (function(record) called once
-- per message and attempt).
function dispatch.new(router, options)
    options = options or {}
    local self = {
        router = router,
        storage = options.storage,
        bounce_builder = options.bounce_builder,
        log = options.log,
    }
    return setmetatable(self, dispatch)
end

-- bus(to_bus) -> a client-side bus that runs relay(to_bus, messages) in
-- the requesting thread when its response is read (no proxy thread).
function dispatch:bus(to_bus)
    local d = self
    local bus = {}
    function bus:send_request(messages)
        local transaction = {}
        function transaction:recv_response()
            if not self.responses then
                self.responses = d:relay(to_bus, messages)
            end
            return self.responses
        end
        return transaction
    end
    return bus
end

function dispatch:filter()
    return function (to_bus, messages)
        return self:relay(to_bus, messages)
    end
end

local function class(r)
    return tostring(r.code or ""):sub(1, 1)
end

-- Routes every message; returns the pieces and per-message bookkeeping.
local function route_all(self, messages)
    local pieces, owners, states = {}, {}, {}
    for i, message in ipairs(messages) do
        local state = {results = {}, pieces = {}}
        states[i] = state
        local ok, routed, leftover = pcall(self.router.route, self.router, message)
        if not ok then
            state.error = response("451", "4.3.0 Routing failed: " .. tostring(routed))
        else
            for _, piece in ipairs(routed or {}) do
                pieces[#pieces + 1] = piece
                owners[#pieces] = i
                state.pieces[#state.pieces + 1] = piece
            end
            if leftover then
                local r = response("550", "5.1.3 Bad destination mailbox address syntax")
                for _, rcpt in ipairs(leftover.envelope.recipients or {}) do
                    state.results[#state.results + 1] = {recipient = rcpt, response = r}
                end
            end
        end
    end
    return pieces, owners, states
end

-- Records the outcome of each recipient of a relayed piece.
local function collect(state, piece, reply)
    local refused = {}
    for _, f in ipairs(reply.rcpt_failures or {}) do
        refused[f.recipient] = response(f.code, f.message)
    end
    state.replies = state.replies or {}
    state.replies[#state.replies + 1] = {piece = piece, reply = reply}
    for _, rcpt in ipairs(piece.envelope.recipients or {}) do
        state.results[#state.results + 1] = {recipient = rcpt, response = refused[rcpt] or reply}
    end
end

local function first_of(results, c)
    for _, res in ipairs(results) do
        if class(res.response) == c then
            return res.response
        end
    end
end

local function recipients_of(results, wanted)
    local list = {}
    for _, res in ipairs(results) do
        if wanted(class(res.response)) then
            list[#list + 1] = res.recipient
        end
    end
    return list
end

-- Stores a bounce for the permanently failed recipients of message.
function dispatch:bounce_some(session, message, failed)
    if not message.envelope or message.envelope.sender == "" or not failed[1] then
        -- Never bounce a bounce (§6 #25).
        return
    end
    local lines = {}
    for _, res in ipairs(failed) do
        lines[#lines + 1] = res.recipient .. ": " .. tostring(res.response.code) .. " "
            .. tostring(res.response.message)
    end
    local copy = slimta.message.copy(message)
    local rcpts = {}
    for i, res in ipairs(failed) do
        rcpts[i] = res.recipient
    end
    copy.envelope.recipients = rcpts
    local summary = response(failed[1].response.code, (table.concat(lines, "; "):gsub("[%c]", " ")))
    local builder = self.bounce_builder or slimta.message.bounce.new()
    local bounce = builder:build(copy, summary)
    local id = bounce:store(session)
    session:set_message_retry(id, os.time())
    return id
end

-- Handles a message whose recipients had mixed results; returns the
-- response for the queue.
function dispatch:settle_partial(message, state)
    local results = state.results
    local ok2 = first_of(results, "2")
    local temp = first_of(results, "4")
    local perm_list = {}
    for _, res in ipairs(results) do
        local c = class(res.response)
        if c ~= "2" and c ~= "4" then
            perm_list[#perm_list + 1] = res
        end
    end
    if not self.storage or not message.id then
        -- Nothing to re-queue into: report what matters most to the sender.
        return ok2 or temp or perm_list[1].response
    end
    local session = self.storage:connect()
    local ok, err = pcall(function ()
        if perm_list[1] then
            state.bounced = self:bounce_some(session, message, perm_list)
        end
        if temp then
            -- Keep just the recipients to retry, in storage too.
            message.envelope.recipients = recipients_of(results, function (c) return c == "4" end)
            local meta = {}
            slimta.message.envelope.to_meta(message.envelope, meta)
            session:set_message_meta_key(message.id, "recipients", meta.recipients)
        end
    end)
    pcall(session.close, session)
    if not ok then
        return response("451", "4.3.0 Could not record partial delivery: " .. tostring(err))
    end
    return temp or ok2
end

function dispatch:relay(to_bus, messages)
    local started = clock()
    local pieces, owners, states = route_all(self, messages)
    local replies = {}
    if pieces[1] then
        replies = to_bus:send_request(pieces):recv_response() or {}
    end
    for k, piece in ipairs(pieces) do
        local reply = replies[k] or response("451", "4.3.0 No response from the relay.")
        collect(states[owners[k]], piece, reply)
    end
    local out = {}
    for i, message in ipairs(messages) do
        local state = states[i]
        local results = state.results
        local r
        if state.error then
            r = state.error
        elseif not results[1] then
            r = response("550", "5.1.3 No recipients")
        else
            local c1 = class(results[1].response)
            local same = true
            for _, res in ipairs(results) do
                if class(res.response) ~= c1 then
                    same = false
                    break
                end
            end
            if same then
                r = results[1].response
            else
                r = self:settle_partial(message, state)
                state.partial = true
            end
        end
        out[i] = r
        if self.log then
            pcall(self.log, {
                message = message,
                response = r,
                results = results,
                replies = state.replies or {},
                partial = state.partial,
                bounced = state.bounced,
                elapsed = clock() - started,
            })
        end
    end
    return out
end
