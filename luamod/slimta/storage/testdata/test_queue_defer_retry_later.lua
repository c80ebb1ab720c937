-- spec 4.2 test_queue_defer_retry_later: retry in 100 s; retry() finds
-- nothing due yet, the message stays deferred.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
local q
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    q = slimta.queue.new(edge_srv, relay_cli, storage)
    q:set_retry_algorithm(function () return os.time() + 100 end)
    fake_relay(relay_srv, {response("450")})
    ratchet.thread.attach(function ()
        local replies = edge_cli:send_request({test_message()}):recv_response()
        assert(replies[1].code == "250")
    end)
    q:accept()(storage) -- spurious argument
    assert(#q:get_deferred_messages(storage) == 1)
    assert(q:retry(storage) == nil)
    assert(#q:get_deferred_messages(storage) == 1)
end)
local ids = storage:get_all_messages()
assert(count_ids(ids) == 1)
local when = storage:get_message_retry(ids[1])
assert(when and when >= os.time() + 90, tostring(when))
assert(count_ids(storage:get_active_messages()) == 0)
