-- A failed message from the null sender (a bounce) is dropped, never
-- bounced again (spec 6.3 #25).
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(edge_srv, relay_cli, storage)
    fake_relay(relay_srv, {response("550", "no")})
    ratchet.thread.attach(function ()
        local replies = edge_cli:send_request({test_message("")}):recv_response()
        assert(replies[1].code == "250")
    end)
    q:accept()()
end)
assert(count_ids(storage:get_all_messages()) == 0)
