-- A delivery that outlasts lock_duration keeps its lock (refreshed by the
-- queue) and is not picked up by another retry pass (spec 6.3 #18).
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(edge_srv, relay_cli, storage)
    q:set_lock_duration(3)
    local deliveries = 0
    fake_relay(relay_srv, {function ()
        deliveries = deliveries + 1
        ratchet.thread.timer(4.5)
        return response("250")
    end})
    ratchet.thread.attach(function ()
        edge_cli:send_request({test_message()}):recv_response()
    end)
    ratchet.thread.attach(function ()
        ratchet.thread.timer(3.6)
        -- the original lock would have expired by now
        assert(count_ids(storage:connect():get_active_messages()) == 1)
        assert(q:retry() == nil, "a second pass took a message being delivered")
    end)
    q:accept()()
    assert(deliveries == 1)
end)
assert(count_ids(storage:get_all_messages()) == 0)
