-- slimta.bus.chain and slimta.bus.proxy over local buses (spec 2.9.5,
-- 2.9.6), including the failure answers added for spec 6.3 #19/#20.
require "ratchet"
require "slimta.bus"
require "slimta.message"

local response = slimta.message.response

-- chain: two links stamping the requests, then a consumer
local finished = false
ratchet.new(function ()
    local edge_server, edge_client = slimta.bus.new_local()
    local function link(tag)
        return function (from_transaction, requests, to_bus)
            for _, r in ipairs(requests) do
                r.path = (r.path or "") .. tag
            end
            local replies = to_bus:send_request(requests):recv_response()
            for _, rep in ipairs(replies) do
                rep.message = rep.message .. tag
            end
            from_transaction:send_response(replies)
        end
    end
    local last, threads = slimta.bus.chain({link("a"), link("b")}, edge_server)
    assert(#threads == 2 and last)
    local consumer = ratchet.thread.attach(function ()
        while true do
            local t, reqs = last:recv_request()
            local out = {}
            for i, r in ipairs(reqs) do
                out[i] = response.new("250", r.path .. ":")
            end
            t:send_response(out)
        end
    end)
    local replies = edge_client:send_request({{}, {path = "x"}}):recv_response()
    assert(#replies == 2)
    assert(replies[1].message == "ab:ba", replies[1].message)
    assert(replies[2].message == "xab:ba", replies[2].message)
    for _, t in ipairs(threads) do ratchet.thread.kill(t) end
    ratchet.thread.kill(consumer)
    finished = true
end):loop()
assert(finished)

-- empty chain
local last, threads = slimta.bus.chain({}, slimta.bus.new_local())
assert(last == nil and #threads == 0)

-- proxy: default filter, custom filter, errors
assert(not pcall(slimta.bus.proxy.new, nil, {}))
local ok, err = pcall(slimta.bus.proxy.new, {}, nil)
assert(not ok and tostring(err):find("No destination bus given.", 1, true), err)
ok, err = pcall(slimta.bus.proxy.new)
assert(not ok and tostring(err):find("slimta.bus.proxy.new(): No source bus given.", 1, true), err)

local errors = {}
finished = false
ratchet.new(function ()
    local a_server, a_client = slimta.bus.new_local()
    local b_server, b_client = slimta.bus.new_local()
    local c_server, c_client = slimta.bus.new_local()
    local d_server, d_client = slimta.bus.new_local()
    -- a -> b unchanged; c -> b with a filter; d -> b with a failing filter
    local p1 = ratchet.thread.attach(slimta.bus.proxy.new(a_server, b_client))
    local p2 = ratchet.thread.attach(slimta.bus.proxy.new(c_server, b_client, function (to_bus, msgs)
        for _, m in ipairs(msgs) do m.filtered = true end
        local replies = to_bus:send_request(msgs):recv_response()
        replies[#replies + 1] = response.new("250", "extra")
        return replies
    end))
    local p3 = ratchet.thread.attach(slimta.bus.proxy.new(d_server, b_client, function ()
        error("filter exploded")
    end))
    local consumer = ratchet.thread.attach(function ()
        while true do
            local t, reqs = b_server:recv_request()
            local out = {}
            for i, r in ipairs(reqs) do
                out[i] = response.new("250", r.filtered and "filtered" or "plain")
            end
            t:send_response(out)
        end
    end)
    local r1 = a_client:send_request({{}}):recv_response()
    assert(#r1 == 1 and r1[1].message == "plain")
    local r2 = c_client:send_request({{}}):recv_response()
    assert(#r2 == 2 and r2[1].message == "filtered" and r2[2].message == "extra")
    -- the failing filter still answers, one 451 per request
    local r3 = d_client:send_request({{}, {}}):recv_response()
    assert(#r3 == 2 and r3[1].code == "451" and r3[2].code == "451", tostring(r3[1].code))
    -- accept() hands out callable sessions
    local e_server, e_client = slimta.bus.new_local()
    local p4 = slimta.bus.proxy.new(e_server, b_client)
    local t = e_client:send_request({{}})
    local session = p4:accept()
    session()
    assert(t:recv_response()[1].message == "plain")
    for _, th in ipairs({p1, p2, p3, consumer}) do ratchet.thread.kill(th) end
    finished = true
end, function (e)
    errors[#errors + 1] = tostring(e)
end):loop()
assert(finished)
assert(#errors == 1 and errors[1]:find("filter exploded"), errors[1])
