-- slimta.bus.direct(handle): requests answered in the requesting thread,
-- handle called once per transaction, nil requests seen as {}.
require "ratchet"
require "slimta.bus"

local calls = 0
local b = slimta.bus.direct(function (requests)
    calls = calls + 1
    local out = {}
    for i, r in ipairs(requests) do
        out[i] = r * 2
    end
    out.thread = ratchet.thread.self()
    return out
end)

local done = false
ratchet.new(function ()
    local t = b:send_request({1, 2, 3})
    assert(calls == 0, "nothing runs before recv_response")
    local r = t:recv_response()
    assert(calls == 1 and r[1] == 2 and r[3] == 6)
    assert(r.thread == ratchet.thread.self(), "answered in the requesting thread")
    assert(t:recv_response() == r and calls == 1, "answered once")
    local empty = b:send_request(nil):recv_response()
    assert(calls == 2 and #empty == 0)
    done = true
end):loop()
assert(done)
