-- slimta.queue: stores messages received from the edge, answers the edge,
-- then relays them, retrying, bouncing or deleting by the relay's answer
-- (spec 2.20).
--
-- Differences from the original (spec 6.3), all about never losing or
-- doubling accepted mail:
--  * a message is stored in one step when the storage offers
--    store_message (meta, contents, retry schedule and id together) and is
--    always scheduled: at now + lock_duration when this queue relays it
--    itself, at once when it only stores. If the process dies before the
--    delivery ends, a later retry() finds it (#16, #17);
--  * a storage failure answers that message 451 4.3.0 instead of killing
--    the job and leaving the edge waiting forever (#19);
--  * retry() locks the due messages before loading them (at most
--    retry_batch per job), and every lock moves the retry time to the
--    lock's expiry; while a job waits for the relay a keeper thread keeps
--    its locks alive (refresh_lock), so a slow delivery is never picked up
--    a second time (#18);
--  * a relay answer that is not a 2xx/4xx/5xx response (nil, no code, a
--    numeric code from a TCP bus, an error raised by the relay bus) counts
--    as a temporary failure (451 4.3.0) instead of crashing or bouncing
--    (#20, #27);
--  * a bounce replaces its original in one storage step, and a message
--    from the null sender is never bounced, only dropped (#25);
--  * ids whose meta or contents cannot be read because of a storage error
--    (rather than because they are missing) are not deleted.
--
-- Additions for throughput (used by scripts/mta.lua): direct_bus() stores
-- in the edge's own thread and hands the stored messages to a pool of
-- relay workers; set_relay_batch() relays several messages per request
-- (one relay session per destination), and a message the relayer reports
-- delivered (relay_done) is deleted at once, not at the end of its batch.

slimta = slimta or require "slimta"
require "slimta.message"
require "slimta.bus"
local ratchet = require "ratchet"
local has_native, native = pcall(require, "slimta.queue.native")
if not has_native then
    native = nil
end

local message = slimta.message
local response = slimta.message.response

local NOT_FOUND = "Message ID not found."

local queue = {}
queue.__index = queue

local function default_retry_algorithm()
    return nil
end

function queue.new(edge_bus, relay_bus, storage)
    return setmetatable({
        edge_bus = edge_bus,
        relay_bus = relay_bus,
        storage = storage,
        retry_algorithm = default_retry_algorithm,
        bounce_builder = message.bounce.new(),
        lock_duration = 120,
        retry_batch = 1000,
        inflight = {},
        inflight_n = 0,
        inflight_dead = 0,
        relay_batch = 1,
        relay_workers = 64,
        pending = {},
        pending_head = 1,
        workers = 0,
        busy_workers = 0,
        idle_workers = {},
    }, queue)
end

function queue:set_retry_algorithm(fn)
    self.retry_algorithm = fn
end

function queue:set_bounce_builder(builder)
    self.bounce_builder = builder
end

function queue:set_lock_duration(seconds)
    self.lock_duration = seconds
end

-- set_relay_batch(n): relay up to n messages in one request to the relay
-- bus (default 1: one request per message, as the original). Messages of
-- one request to the same destination share a relay session.
function queue:set_relay_batch(n)
    self.relay_batch = n
end

-- set_relay_workers(n): at most n threads relay what direct_bus() stored
-- (default 64). Fewer workers batch more under load (with relay_batch),
-- but a slow destination can then hold up others for longer.
function queue:set_relay_workers(n)
    self.relay_workers = n
end

-- set_retry_batch(n): at most n messages per retry() job (default 1000;
-- nil or 0 for no limit). The retry loop's next call takes the rest.
function queue:set_retry_batch(n)
    self.retry_batch = n
end

local function log(fmt, ...)
    io.stderr:write("slimta.queue: ", fmt:format(...), "\n")
end

-- one_line makes an error fit in a reply line.
local function one_line(err)
    local s = tostring(err):gsub("%c+", " ")
    if #s > 200 then
        s = s:sub(1, 200) .. "..."
    end
    return s
end

local function count(list)
    return tonumber(list.n) or #list
end

---------------------------------------------------------------------------
-- Storage steps

local function store_message(session, msg, when)
    if session.store_message then
        msg.id = session:store_message(message.to_meta(msg), tostring(msg.contents), when)
    else
        local store = msg.store or message.methods.store
        store(msg, session)
        session:set_message_retry(msg.id, when)
    end
    return msg.id
end

-- load returns the message, or nil and the storage's error; unlike
-- slimta.message.load it keeps the error, so callers can tell a missing
-- message from a storage failure.
local function load(session, id)
    local meta, err = session:get_message_meta(id)
    if meta == nil then
        return nil, err
    end
    local raw, err2 = session:get_message_contents(id)
    if raw == nil then
        return nil, err2
    end
    return message.from_meta(meta, raw, id)
end

local function increment_attempts(session, msg)
    local inc = msg.increment_attempts or message.methods.increment_attempts
    inc(msg, session)
end

---------------------------------------------------------------------------
-- Jobs: callables returned by accept() and retry()

local job = {}
job.__index = job

function job.__call(self)
    if self.messages then
        self:store()
    end
    if self.queue.relay_bus then
        self:relay()
    end
end

-- store: write every message of an edge request and answer the edge.
function job.store(self)
    local q = self.queue
    local messages = self.messages or {}
    local responses, stored = {}, {}
    local connected, session = pcall(q.storage.connect, q.storage)
    local when = os.time()
    if q.relay_bus then
        when = when + q.lock_duration
    end
    for i = 1, count(messages) do
        local msg = messages[i]
        local ok, err
        if not connected then
            ok, err = false, session
        elseif type(msg) ~= "table" then
            ok, err = false, "not a message"
        else
            ok, err = pcall(store_message, session, msg, when)
        end
        if ok then
            responses[i] = response.new("250", "Message queued as " .. msg.id, msg.id)
            stored[#stored + 1] = msg
        else
            if type(msg) == "table" then
                msg.id = nil
            end
            log("storing a message failed: %s", one_line(err))
            responses[i] = response.new("451", "4.3.0 Message queuing failed: " .. one_line(err))
        end
    end
    if connected then
        pcall(session.close, session)
    end
    self.stored = stored
    if self.transaction then
        self.transaction:send_response(responses)
        self.transaction = nil
    end
    return responses
end

-- normalize turns whatever the relay answered into a response with a
-- three-digit string code of class 2, 4 or 5.
local function normalize(ok, r)
    if not ok then
        return response.new("451", "4.3.0 Relay failed: " .. one_line(r))
    end
    if type(r) ~= "table" then
        return response.new("451", "4.3.0 No response from relay")
    end
    local code = tostring(r.code or ""):match("^%s*(%d%d%d)%s*$")
    if not code or not code:find("^[245]") then
        return response.new("451", "4.3.0 Invalid relay response: " .. one_line(r.code) .. " " .. one_line(r.message or ""))
    end
    r.code = code
    r.message = tostring(r.message or "")
    return r
end

local function fail(q, session, msg, r)
    local builder = q.bounce_builder
    local b, why
    if msg.envelope and msg.envelope.sender ~= "" then
        b, why = builder:build(msg, r)
    else
        why = "null sender"
    end
    if not b then
        log("dropping undeliverable message %s (%s): %s %s", tostring(msg.id), tostring(why), tostring(r.code), one_line(r.message))
        session:delete_message(msg.id)
        return
    end
    if session.store_message then
        b.id = session:store_message(message.to_meta(b), tostring(b.contents), os.time(), msg.id)
    else
        local store = b.store or message.methods.store
        local bid = store(b, session)
        session:set_message_retry(bid, os.time())
        session:delete_message(msg.id)
    end
end

-- settle acts on the relay's (normalized) answer for one locked message.
local function settle(q, session, msg, r)
    local class = r.code:sub(1, 1)
    if class == "2" then
        session:delete_message(msg.id)
    elseif class == "4" then
        increment_attempts(session, msg)
        local when = q.retry_algorithm(msg, r)
        if when then
            session:set_message_retry(msg.id, when)
            session:unlock_message(msg.id)
        else
            r.message = r.message .. " (Too many retries)"
            fail(q, session, msg, r)
        end
    else
        fail(q, session, msg, r)
    end
end

-- deliver relays one locked message and acts on the answer.
local function deliver(q, session, msg)
    settle(q, session, msg, normalize(pcall(q.try_relay, q, msg)))
end

-- relay_many relays several locked messages in one request (one relay
-- session per destination instead of one per message); every message gets
-- the same treatment as with deliver(). A message delivered whole (the
-- relayer calls its relay_done field with the message itself and the 2xx
-- response, see slimta.relay.smtp) is deleted at once rather than after the
-- whole batch: a crash in between would deliver it twice.
local function relay_many(q, session, list)
    local settled = {}
    for _, msg in ipairs(list) do
        msg.relay_done = function (delivered, r)
            if delivered == msg and not settled[msg] then
                settled[msg] = true
                local ok, err = pcall(settle, q, session, msg, normalize(true, r))
                if not ok then
                    log("relay of %s failed: %s", tostring(msg.id), one_line(err))
                end
            end
        end
    end
    local ok, responses = pcall(function ()
        return q.relay_bus:send_request(list):recv_response()
    end)
    if ok and type(responses) ~= "table" then
        ok, responses = true, {}
    end
    for i, msg in ipairs(list) do
        msg.relay_done = nil
        if not settled[msg] then
            local r
            if ok then
                r = normalize(true, responses[i])
            else
                r = normalize(false, responses)
            end
            local sok, err = pcall(settle, q, session, msg, r)
            if not sok then
                log("relay of %s failed: %s", tostring(msg.id), one_line(err))
            end
        end
    end
end

-- Lock keeping. While a job waits for the relay its locks must not
-- expire, or a retry pass could deliver the same message again (spec
-- 6.3 #18). Every job registers its locked ids in q.inflight; one keeper
-- thread per queue refreshes them every lock_duration / 3 and exits when
-- nothing is in flight. Entries of a job that was killed are dropped once
-- its thread is seen dead (or, without that check, after max_keep
-- seconds), so their locks expire and the messages are retried.

local max_keep = 3600

local function keeper_loop(q)
    while true do
        ratchet.thread.timer(q.lock_duration / 3)
        local now = os.time()
        local due, dead = {}, {}
        for id, e in pairs(q.inflight) do
            local alive
            if native and native.thread_alive then
                alive = native.thread_alive(e.owner)
            else
                alive = now < e.deadline
            end
            if alive then
                due[id] = e
            else
                dead[#dead + 1] = id
            end
        end
        for _, id in ipairs(dead) do
            q.inflight[id] = nil
            q.inflight_n = q.inflight_n - 1
        end
        if q.inflight_n <= 0 then
            q.inflight, q.inflight_n = {}, 0
            q.keeper = nil
            return
        end
        for id, e in pairs(due) do
            if q.inflight[id] == e then
                pcall(e.session.refresh_lock, e.session, id, q.lock_duration)
            end
        end
    end
end

-- q.inflight is replaced by a fresh table whenever it empties: gopher-lua
-- tables never forget a key once set (a deleted key stays in the table's
-- key list), so a long-lived table keyed by message ids would grow without
-- bound and make next()/pairs() slower with every message.
local function keep_lock(q, session, id)
    local owner = ratchet.thread.self()
    if not session.refresh_lock or not owner then
        return
    end
    if not q.inflight[id] then
        q.inflight_n = q.inflight_n + 1
    end
    q.inflight[id] = {session = session, owner = owner, deadline = os.time() + max_keep}
    if not q.keeper then
        q.keeper = ratchet.thread.attach(keeper_loop, q)
    end
end

local function release_lock(q, id)
    if not q.inflight[id] then
        return
    end
    q.inflight[id] = nil
    q.inflight_n = q.inflight_n - 1
    q.inflight_dead = q.inflight_dead + 1
    if q.inflight_n > 0 and q.inflight_dead > 2 * q.inflight_n + 256 then
        -- never empty under steady load: copy the live entries now and then
        local fresh = {}
        for k, v in pairs(q.inflight) do
            fresh[k] = v
        end
        q.inflight, q.inflight_dead = fresh, 0
    end
    if q.inflight_n == 0 then
        q.inflight, q.inflight_dead = {}, 0
        if q.keeper then
            local keeper = q.keeper
            q.keeper = nil
            ratchet.thread.kill(keeper)
        end
    end
end

-- relay: deliver the stored (accept) or loaded (retry) messages.
function job.relay(self)
    local q = self.queue
    local messages = self.relay_messages or self.stored
    if not q.relay_bus or not messages or #messages == 0 then
        return
    end
    local connected, session = pcall(q.storage.connect, q.storage)
    if not connected then
        -- The messages stay scheduled; a later retry() delivers them.
        log("relay: cannot connect to storage: %s", one_line(session))
        return
    end
    local locked = self.locked or {}
    self.locked = locked
    for _, msg in ipairs(messages) do
        if msg.id and not locked[msg.id] then
            local ok, got = pcall(session.lock_message, session, msg.id, q.lock_duration)
            if ok and got then
                locked[msg.id] = true
            end
        end
    end
    for id in pairs(locked) do
        keep_lock(q, session, id)
    end
    local batch = tonumber(q.relay_batch) or 1
    if batch > 1 then
        local list = {}
        for _, msg in ipairs(messages) do
            if msg.id and locked[msg.id] then
                list[#list + 1] = msg
            end
        end
        for first = 1, #list, batch do
            local chunk = {}
            for i = first, math.min(first + batch - 1, #list) do
                chunk[#chunk + 1] = list[i]
            end
            relay_many(q, session, chunk)
            for _, msg in ipairs(chunk) do
                locked[msg.id] = nil
                release_lock(q, msg.id)
            end
        end
    else
        for _, msg in ipairs(messages) do
            local id = msg.id
            if id and locked[id] then
                local ok, err = pcall(deliver, q, session, msg)
                if not ok then
                    -- Left locked and scheduled: retried once the lock expires.
                    log("relay of %s failed: %s", tostring(id), one_line(err))
                end
                locked[id] = nil
                release_lock(q, id)
            end
        end
    end
    pcall(session.close, session)
end

---------------------------------------------------------------------------
-- Relay workers of direct_bus(): stored messages wait in q.pending and a
-- pool of at most q.relay_workers threads relays them, each taking up to
-- q.relay_batch at a time. A worker that finds nothing to do parks (pause)
-- while others are busy; the last busy one releases the parked ones and
-- they all end, so an idle queue leaves no thread behind (a kernel loop
-- still ends when its work is done). Compared with a thread per message
-- this saves creating a Lua thread per message and, under load, shares one
-- relay session among several messages.

local function take_pending(q)
    local pending = q.pending
    local head, tail = q.pending_head, #pending
    if head > tail then
        return nil
    end
    local last = math.min(tail, head + (tonumber(q.relay_batch) or 1) - 1)
    local list = {}
    for i = head, last do
        list[#list + 1] = pending[i]
        pending[i] = false
    end
    if last == tail then
        -- fresh table: see the note on q.inflight below
        q.pending, q.pending_head = {}, 1
    else
        q.pending_head = last + 1
    end
    return list
end

local function relay_worker(q)
    while true do
        local list = take_pending(q)
        if list then
            q.busy_workers = q.busy_workers + 1
            local ok, err = pcall(job.relay, setmetatable({queue = q, relay_messages = list}, job))
            q.busy_workers = q.busy_workers - 1
            if not ok then
                log("relay worker: %s", one_line(err))
            end
        elseif q.busy_workers > 0 then
            local idle = q.idle_workers
            idle[#idle + 1] = ratchet.thread.self()
            if not ratchet.thread.pause() then
                break
            end
        else
            local idle = q.idle_workers
            q.idle_workers = {}
            for _, t in ipairs(idle) do
                pcall(ratchet.thread.unpause, t, false)
            end
            break
        end
    end
    q.workers = q.workers - 1
end

-- relay_soon hands stored messages to the worker pool.
local function relay_soon(q, messages)
    local pending = q.pending
    for _, msg in ipairs(messages) do
        pending[#pending + 1] = msg
    end
    local idle = q.idle_workers
    while idle[1] do
        local t = table.remove(idle)
        if pcall(ratchet.thread.unpause, t, true) then
            return
        end
        q.workers = q.workers - 1 -- killed while parked
    end
    if q.workers < (tonumber(q.relay_workers) or 1) then
        q.workers = q.workers + 1
        ratchet.thread.attach(relay_worker, q)
    end
end

---------------------------------------------------------------------------
-- Queue methods

function queue:accept()
    local transaction, messages = self.edge_bus:recv_request()
    if not transaction then
        log("receiving from the edge failed: %s", one_line(messages))
        -- A broken bus must not turn the accept loop into a busy loop.
        if ratchet.thread.self() then
            ratchet.thread.timer(0.1)
        end
        return setmetatable({queue = self, messages = {}}, job)
    end
    return setmetatable({queue = self, transaction = transaction, messages = messages}, job)
end

-- direct_bus() -> a client-side bus for the edge side (slimta.bus.direct,
-- used by scripts/mta.lua): recv_response() stores the request's messages
-- in the calling thread and returns their responses, and the relaying of
-- the stored ones runs in a new thread, as in an accept() job.
function queue:direct_bus()
    local q = self
    return slimta.bus.direct(function (messages)
        local j = setmetatable({queue = q, messages = messages}, job)
        local responses = j:store()
        j.messages = nil
        if q.relay_bus and j.stored[1] then
            if ratchet.thread.self() then
                relay_soon(q, j.stored)
            else
                j:relay()
            end
        end
        return responses
    end)
end

-- retry returns a job relaying every message due now, or nil. The due
-- messages are locked here, so two retry passes never share a message.
function queue:retry()
    if not self.relay_bus then
        return nil
    end
    -- A storage outage must not kill the application's retry loop.
    local connected, session = pcall(self.storage.connect, self.storage)
    if not connected then
        log("retry: cannot connect to storage: %s", one_line(session))
        return nil
    end
    local ids, err = session:get_deferred_messages(os.time())
    if not ids then
        pcall(session.close, session)
        log("retry: %s", one_line(err))
        return nil
    end
    local messages, locked = {}, {}
    local limit = tonumber(self.retry_batch)
    if not limit or limit <= 0 then
        limit = math.huge
    end
    for i = 1, count(ids) do
        local id = ids[i]
        if #messages >= limit then
            break
        end
        local ok, why
        if id then
            ok, why = session:lock_message(id, self.lock_duration)
        end
        if ok then
            local msg = load(session, id)
            if msg then
                messages[#messages + 1] = msg
                locked[id] = true
            else
                session:unlock_message(id)
            end
        elseif why == NOT_FOUND then
            -- a schedule entry without a message: drop it
            pcall(session.delete_message, session, id)
        end
    end
    pcall(session.close, session)
    if #messages == 0 then
        return nil
    end
    return setmetatable({queue = self, relay_messages = messages, locked = locked}, job)
end

local function load_all(session, ids, delete_invalid)
    local messages, invalid = {}, {}
    for i = 1, count(ids) do
        local id = ids[i]
        if id ~= nil then
            local msg, err = load(session, id)
            if msg then
                messages[#messages + 1] = msg
            else
                invalid[#invalid + 1] = id
                if delete_invalid and err == NOT_FOUND then
                    session:delete_message(id)
                end
            end
        end
    end
    return messages, invalid
end

function queue:get_deferred_messages(session, timestamp)
    local ids, err = session:get_deferred_messages(timestamp)
    if not ids then
        error(err, 2)
    end
    return (load_all(session, ids, true))
end

function queue:get_all_messages(session)
    local ids, err = session:get_all_messages()
    if not ids then
        error(err, 2)
    end
    return load_all(session, ids, false)
end

function queue:try_relay(msg, session)
    if session then
        if not session:lock_message(msg.id, self.lock_duration) then
            return false, "locked"
        end
    end
    local ok, responses = pcall(function ()
        return self.relay_bus:send_request({msg}):recv_response()
    end)
    if session then
        session:unlock_message(msg.id)
    end
    if not ok then
        error(responses, 0)
    end
    return responses and responses[1]
end

slimta.queue = queue
return slimta
