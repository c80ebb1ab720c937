-- spec 4.2 test_queue_store_only: five edge requests, a queue without a
-- relay bus; every message answered 250 and stored.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
local q
run(function ()
    local edge_srv, edge_cli = local_bus()
    q = slimta.queue.new(edge_srv, nil, storage)
    for i = 1, 5 do
        ratchet.thread.attach(function ()
            local replies = edge_cli:send_request({test_message()}):recv_response()
            assert(#replies == 1)
            assert(replies[1].code == "250", replies[1].code)
            assert(replies[1].message == "Message queued as " .. replies[1].data)
        end)
    end
    local threads = {}
    for i = 1, 5 do
        local job = q:accept()
        threads[i] = ratchet.thread.attach(job.store, job)
    end
    ratchet.thread.wait_all(threads)
end)

-- called from main, outside any ratchet thread
local messages, invalid = q:get_all_messages(storage:connect())
assert(#messages == 5, #messages)
assert(#invalid == 0)
for _, m in ipairs(messages) do
    assert(m.envelope.sender == "sender@slimta.org")
    assert(#m.envelope.recipients == 2)
    assert(m.envelope.recipients[2] == "rcpt2@slimta.org")
    assert(tostring(m.contents) == "test contents")
    assert(tonumber(m.timestamp) == 12345)
end
-- store-only queues schedule at once: another process can relay them
assert(count_ids(storage:get_deferred_messages(os.time())) == 5)
