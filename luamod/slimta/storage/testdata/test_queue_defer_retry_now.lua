-- spec 4.2 test_queue_defer_retry_now: retry algorithm returns 0; 450,
-- then a retry() job delivers with 250.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(edge_srv, relay_cli, storage)
    local calls = 0
    q:set_retry_algorithm(function (msg, r)
        calls = calls + 1
        assert(msg.attempts == 1, msg.attempts)
        assert(r.code == "450")
        return 0
    end)
    local _, seen = fake_relay(relay_srv, {response("450"), response("250")})
    ratchet.thread.attach(function ()
        local replies = edge_cli:send_request({test_message()}):recv_response()
        assert(replies[1].code == "250")
    end)
    q:accept()()
    assert(calls == 1)
    local deferred = q:get_deferred_messages(storage:connect())
    assert(#deferred == 1)
    assert(tonumber(deferred[1].attempts) == 1)
    local job = q:retry()
    assert(job, "retry() found nothing")
    -- while the job holds the message, another pass does not take it
    assert(q:retry() == nil)
    job()
    assert(#seen == 2)
    assert(tonumber(seen[2].attempts) == 1)
end)
assert(count_ids(storage:get_all_messages()) == 0)
