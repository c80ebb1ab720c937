-- retry() collects every due message into one job and locks them; the
-- job delivers them all; with no relay bus retry() returns nil.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
local s = storage:connect()
local ids = {}
for i = 1, 5 do
    local m = test_message(nil, "message " .. i)
    ids[i] = s:store_message(slimta.message.to_meta(m), tostring(m.contents), os.time() - i)
end
-- one message not due yet
local later = s:store_message(slimta.message.to_meta(test_message()), "later", os.time() + 1000)

assert(slimta.queue.new(nil, nil, storage):retry() == nil)

run(function ()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(nil, relay_cli, storage)
    local answers = {}
    for i = 1, 5 do
        answers[i] = response("250")
    end
    local _, seen = fake_relay(relay_srv, answers)
    local job = assert(q:retry())
    assert(count_ids(storage:connect():get_active_messages()) == 5)
    assert(q:retry() == nil)
    job()
    assert(#seen == 5)
end)
local left = storage:get_all_messages()
assert(count_ids(left) == 1 and left[1] == later)
assert(count_ids(storage:get_active_messages()) == 0)

-- retry_batch bounds one job; the next call takes the rest
local s2 = new_storage()
for i = 1, 5 do
    local m = test_message(nil, "batch " .. i)
    s2:store_message(slimta.message.to_meta(m), tostring(m.contents), os.time() - 1)
end
run(function ()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(nil, relay_cli, s2)
    q:set_retry_batch(2)
    local answers = {}
    for i = 1, 5 do
        answers[i] = response("250")
    end
    local _, seen = fake_relay(relay_srv, answers)
    local jobs = 0
    while true do
        local job = q:retry()
        if not job then
            break
        end
        assert(#job.relay_messages <= 2)
        jobs = jobs + 1
        job()
    end
    assert(jobs == 3 and #seen == 5, jobs)
end)
assert(count_ids(s2:get_all_messages()) == 0)
