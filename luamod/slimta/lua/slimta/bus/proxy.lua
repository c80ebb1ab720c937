-- slimta.bus.proxy: receives requests on one bus, runs a filter, forwards
-- to another bus and relays the responses back (spec 2.9.6).

require "ratchet"
slimta = slimta or require "slimta"
slimta.bus = slimta.bus or {}

local proxy = {}
proxy.__index = proxy

local session = {}
session.__index = session

-- The default filter forwards the request array unchanged.
local function forward(to_bus, requests)
    return to_bus:send_request(requests):recv_response()
end

function proxy.new(from_bus, to_bus, filter)
    if not from_bus then
        error("slimta.bus.proxy.new(): No source bus given.", 2)
    end
    if not to_bus then
        error("slimta.bus.proxy.new(): No destination bus given.", 2)
    end
    return setmetatable({from_bus = from_bus, to_bus = to_bus, filter = filter or forward}, proxy)
end

-- accept() -> callable session for the next request on from_bus.
function proxy:accept()
    local transaction, requests = self.from_bus:recv_request()
    while not transaction do
        -- a TCP server bus could not wait on its sockets; retry, not spin
        ratchet.thread.timer(0.05)
        transaction, requests = self.from_bus:recv_request()
    end
    return setmetatable({proxy = self, transaction = transaction, requests = requests}, session)
end

local function run_filter(transaction, requests, p)
    transaction:send_response(p.filter(p.to_bus, requests))
end

-- Calling a session runs the filter and answers the transaction. A filter
-- that raises still answers (451 per request) before the error propagates,
-- so the producer never waits forever.
function session:__call()
    local guard = slimta.bus.guard or require("slimta.bus").guard
    guard(run_filter, self.transaction, self.requests, self.proxy)
end

-- proxy() loops forever, one thread per request; attach the proxy itself
-- as a thread.
function proxy:__call()
    while true do
        ratchet.thread.attach(self:accept())
    end
end

slimta.bus.proxy = proxy
return proxy
