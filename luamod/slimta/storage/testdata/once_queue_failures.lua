-- Storage failures answer the edge 451 4.3.0 per message instead of
-- killing the job (spec 6.3 #19); only stored messages are relayed; a
-- killed job's lock keeper ends.
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

-- connect() itself fails
run(function ()
    local edge_srv, edge_cli = local_bus()
    local broken = {connect = function () error("storage is down") end}
    local q = slimta.queue.new(edge_srv, nil, broken)
    ratchet.thread.attach(function ()
        local replies = edge_cli:send_request({test_message(), test_message()}):recv_response()
        assert(#replies == 2)
        for i = 1, 2 do
            assert(replies[i].code == "451")
            assert(replies[i].message:find("^4%.3%.0 Message queuing failed: .*storage is down"), replies[i].message)
        end
    end)
    q:accept()()
end)

-- the second of three stores fails
local storage = slimta.storage.memory.new()
local calls = 0
local real = storage.store_message
function storage:store_message(...)
    calls = calls + 1
    if calls == 2 then
        error("disk full\r\n250 fake")
    end
    return real(self, ...)
end
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(edge_srv, relay_cli, storage)
    local _, seen = fake_relay(relay_srv, {response("250"), response("250")})
    ratchet.thread.attach(function ()
        local replies = edge_cli:send_request({test_message(), test_message(), test_message()}):recv_response()
        assert(replies[1].code == "250" and replies[3].code == "250")
        assert(replies[2].code == "451")
        assert(not replies[2].message:find("[\r\n]"))
    end)
    q:accept()()
    assert(#seen == 2)
end)
assert(count_ids(storage:get_all_messages()) == 0)

-- engines without store_message (the original interface) still work
local plain = slimta.storage.memory.new()
plain.store_message = false
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(edge_srv, relay_cli, plain)
    fake_relay(relay_srv, {response("550")})
    ratchet.thread.attach(function ()
        edge_cli:send_request({test_message()}):recv_response()
    end)
    q:accept()()
end)
local left = plain:get_all_messages()
assert(count_ids(left) == 1)
assert(plain:get_message_meta(left[1]).sender == "")
assert(count_ids(plain:get_deferred_messages(os.time())) == 1)

-- a job killed while waiting for the relay: its lock keeper stops too,
-- and the message stays stored and scheduled
local store2 = slimta.storage.memory.new()
run(function ()
    local edge_srv, edge_cli = local_bus()
    local relay_srv, relay_cli = local_bus()
    local q = slimta.queue.new(edge_srv, relay_cli, store2)
    q:set_lock_duration(1)
    local relay = ratchet.thread.attach(function ()
        relay_srv:recv_request() -- never answers
        ratchet.thread.timer(1000)
    end)
    ratchet.thread.attach(function ()
        edge_cli:send_request({test_message()}):recv_response()
    end)
    local job = ratchet.thread.attach(q:accept())
    ratchet.thread.timer(0.3)
    ratchet.thread.kill(job)
    ratchet.thread.kill(relay)
end)
assert(count_ids(store2:get_all_messages()) == 1)
assert(count_ids(store2:get_deferred_messages()) == 1)

-- retry() during a storage outage returns nil instead of raising (the
-- application's retry loop must survive it)
local down = {connect = function () error("storage is down") end}
assert(slimta.queue.new(nil, {}, down):retry() == nil)
