-- spec 4.2 test_queue_relay_bounce: 550 -> the original is replaced by a
-- bounce to its sender, from the null sender.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local storage = new_storage()
local q
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    q = slimta.queue.new(edge_srv, relay_cli, storage)
    fake_relay(relay_srv, {response("550", "5.1.1 <rcpt1@slimta.org>: no such user")})
    ratchet.thread.attach(function ()
        edge_cli:send_request({test_message()}):recv_response()
    end)
    q:accept()()
end)
local all = q:get_all_messages(storage:connect())
assert(#all == 1)
assert(all[1].envelope.sender == "")
assert(#all[1].envelope.recipients == 1)
assert(all[1].envelope.recipients[1] == "sender@slimta.org")
assert(tonumber(all[1].attempts) == 0)
