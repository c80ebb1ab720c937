-- Relay answers that are not 2xx/4xx/5xx responses, or a relay bus that
-- raises: treated as temporary failures (451 4.3.0), never crashing the
-- job or bouncing the message (spec 6.3 #20, 6.4 #27).
dofile(TESTDATA .. "/helper.lua")
require "slimta.queue"

local function scenario(answer, relay_bus)
    local storage = new_storage()
    local codes = {}
    run(function ()
        local edge_srv, edge_cli = local_bus()
        local relay_srv, relay_cli = local_bus()
        local q = slimta.queue.new(edge_srv, relay_bus or relay_cli, storage)
        q:set_retry_algorithm(function (msg, r)
            codes[#codes + 1] = r.code
            assert(type(r.code) == "string")
            return os.time() + 100
        end)
        if not relay_bus then
            fake_relay(relay_srv, {answer})
        end
        ratchet.thread.attach(function ()
            local replies = edge_cli:send_request({test_message()}):recv_response()
            assert(replies[1].code == "250")
        end)
        q:accept()()
    end)
    return storage, codes
end

local function assert_deferred(storage, codes)
    assert(#codes == 1 and codes[1] == "451", tostring(codes[1]))
    local ids = storage:get_all_messages()
    assert(count_ids(ids) == 1)
    local m = storage:get_message_meta(ids[1])
    assert(tonumber(m.attempts) == 1)
    assert(tostring(storage:get_message_contents(ids[1])) == "test contents")
    assert(count_ids(storage:get_active_messages()) == 0)
end

-- a numeric code, as a TCP bus decodes it, still counts as 2xx
local storage, codes = scenario(function () return {code = 250, message = "Ok"} end)
assert(#codes == 0)
assert(count_ids(storage:get_all_messages()) == 0)

-- no response at all
assert_deferred(scenario(function () return nil end))
-- garbage code
assert_deferred(scenario(function () return {code = "abc", message = "?"} end))
-- an intermediate code is not a final answer
assert_deferred(scenario(function () return {code = "354", message = "go on"} end))
-- a response that is not a table
assert_deferred(scenario(function () return "250 Ok" end))
-- the relay bus raises
assert_deferred(scenario(nil, {send_request = function () error("bus exploded") end}))
