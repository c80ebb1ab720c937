-- spec 4.2 test_queue_relay_defer: 450 with the default retry algorithm
-- bounces at once: one message (the bounce) left, scheduled now.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
local q
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    q = slimta.queue.new(edge_srv, relay_cli, storage)
    fake_relay(relay_srv, {response("450", "Testing")})
    ratchet.thread.attach(function ()
        local replies = edge_cli:send_request({test_message()}):recv_response()
        assert(replies[1].code == "250")
    end)
    q:accept()()
end)
local session = storage:connect()
local all = q:get_all_messages(session)
assert(#all == 1, #all)
assert(count_ids(session:get_deferred_messages()) == 1)
assert(count_ids(session:get_deferred_messages(os.time())) == 1)
local b = all[1]
assert(b.envelope.sender == "")
assert(#b.envelope.recipients == 1 and b.envelope.recipients[1] == "sender@slimta.org")
assert(tostring(b.contents):find("Too many retries", 1, true))
assert(tostring(b.contents):find("test contents", 1, true))
assert(count_ids(session:get_active_messages()) == 0)
