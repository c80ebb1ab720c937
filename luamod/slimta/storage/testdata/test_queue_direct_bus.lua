-- queue:direct_bus() with relay workers and batches: messages are stored
-- and answered in the caller's thread, relayed by at most relay_workers
-- threads taking up to relay_batch messages per request; 2xx deletes
-- (at once when the relayer reports relay_done), 4xx reschedules, 5xx
-- bounces, and the workers end when the work is done (the loop returns).
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
if storage.set_async_delete then
    -- mta.lua's setting (disk, redis): deletes do not wait
    storage:set_async_delete(true)
end

local senders = {}
for i = 1, 12 do
    senders[i] = ({"ok", "defer", "bounce", "done"})[(i - 1) % 4 + 1] .. i .. "@slimta.org"
end

local requests, max_batch, concurrent, max_concurrent = 0, 0, 0, 0
local deleted_early = 0

-- A client-side relay bus answering by sender; "done" senders are
-- reported through relay_done before the request returns, as
-- slimta.relay.smtp does.
local relay_bus = {}
function relay_bus:send_request(messages)
    local tr = {}
    function tr:recv_response()
        requests = requests + 1
        concurrent = concurrent + 1
        max_concurrent = math.max(max_concurrent, concurrent)
        max_batch = math.max(max_batch, #messages)
        ratchet.thread.timer(0.01)
        local out = {}
        for i, m in ipairs(messages) do
            local s = m.envelope.sender
            if s:find("^defer") then
                out[i] = response("451", "4.0.0 later")
            elseif s:find("^bounce") then
                out[i] = response("550", "5.0.0 no")
            else
                out[i] = response("250", "2.0.0 Ok")
                if s:find("^done") and m.relay_done then
                    m.relay_done(m, out[i])
                    if storage:get_message_meta(m.id) == nil then
                        deleted_early = deleted_early + 1
                    end
                end
            end
        end
        concurrent = concurrent - 1
        return out
    end
    return tr
end

local q = slimta.queue.new(nil, relay_bus, storage)
q:set_relay_workers(2)
q:set_relay_batch(3)
q:set_retry_algorithm(function () return os.time() + 3600 end)
local bus = q:direct_bus()

run(function ()
    local clients = {}
    for i, sender in ipairs(senders) do
        clients[i] = ratchet.thread.attach(function ()
            local m = test_message(sender)
            local r = bus:send_request({m}):recv_response()
            assert(r[1].code == "250", tostring(r[1].code))
            assert(r[1].data == m.id)
        end)
    end
    ratchet.thread.wait_all(clients)
end)

assert(q.workers == 0, "workers left: " .. tostring(q.workers))
assert(max_concurrent <= 2, "more than relay_workers requests at once: " .. max_concurrent)
assert(max_batch > 1 and max_batch <= 3, "batch size " .. max_batch)
assert(requests < #senders, "no batching: " .. requests .. " requests")
assert(deleted_early == 3, "relay_done deletes at once: " .. deleted_early)
if storage.sync then
    storage:sync()
end
-- left: the 3 deferred messages and the 3 bounces
local ids = storage:get_all_messages()
assert(count_ids(ids) == 6, "stored: " .. count_ids(ids))
local deferred, bounces = 0, 0
for i = 1, count_ids(ids) do
    local meta = assert(storage:get_message_meta(ids[i]))
    if meta.sender == "" then
        bounces = bounces + 1
    else
        assert(tostring(meta.sender):find("^defer"), tostring(meta.sender))
        assert(tonumber(meta.attempts) == 1)
        deferred = deferred + 1
    end
end
assert(deferred == 3 and bounces == 3, deferred .. " " .. bounces)
assert(count_ids(storage:get_active_messages()) == 0)
