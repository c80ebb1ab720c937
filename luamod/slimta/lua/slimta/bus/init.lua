-- slimta.bus: request/response channels between the parts of an MTA
-- (spec 2.9). Local buses pass objects by reference between threads of one
-- kernel; TCP buses (slimta.bus.server / slimta.bus.client) carry XML
-- documents plus binary attachments, one request per connection (spec 3.1,
-- 3.2). chain() and proxy move requests from one bus to the next.

require "ratchet"
slimta = slimta or require "slimta"
local rbus = require "ratchet.bus"
if type(rbus) ~= "table" then
    rbus = ratchet.bus
end

slimta.bus = slimta.bus or {}
local bus = slimta.bus

-- new_local() -> server_end, client_end. Both are the same object (as in
-- the original); extra arguments are ignored.
function bus.new_local()
    return rbus.new_local()
end

function bus.new_server(host, port, request_type)
    return bus.server.new(host, port, request_type)
end

function bus.new_client(host, port, response_type)
    return bus.client.new(host, port, response_type)
end

-- failure_responses(requests, err) -> one 451 reply per request: what a
-- producer gets when the code that should have answered it raised, so that
-- it never waits forever (spec 6.3 #19, #20).
function bus.failure_responses(requests, err)
    local response = require "slimta.message.response"
    local out = {}
    local n = type(requests) == "table" and #requests or 1
    for i = 1, math.max(n, 1) do
        out[i] = response.new("451", "4.3.0 Internal error while handling the message")
    end
    return out
end

-- guard(fn, transaction, requests, ...) runs fn(transaction, requests, ...).
-- If fn raises before the transaction was answered, the producer is sent
-- failure responses, then the error is re-raised so the kernel's error
-- handler still sees it.
function bus.guard(fn, transaction, requests, ...)
    local answered = false
    local wrapped = {}
    function wrapped.send_response(_, responses)
        answered = true
        return transaction:send_response(responses)
    end
    setmetatable(wrapped, {__index = function (_, key)
        local v = transaction[key]
        if type(v) == "function" then
            -- methods of the real transaction, called on the wrapper
            return function (self, ...)
                if self == wrapped then
                    self = transaction
                end
                return v(self, ...)
            end
        end
        return v
    end})
    local ok, err = pcall(fn, wrapped, requests, ...)
    if not ok then
        if not answered then
            pcall(transaction.send_response, transaction, bus.failure_responses(requests, err))
        end
        error(err, 0)
    end
end

-- direct(handle) -> a client-side bus whose requests are answered in the
-- requesting thread: transaction:recv_response() calls handle(requests)
-- once and returns its result (again on later calls). A producer and a
-- consumer in one process save a thread and two hand-offs per request
-- compared with a local bus and an accept loop (an addition of this port,
-- behind queue:direct_bus() and relay:direct_bus()).
function bus.direct(handle)
    local direct = {}
    function direct.send_request(_, requests)
        local transaction = {}
        function transaction.recv_response(self)
            if not self.responses then
                self.responses = handle(requests or {})
            end
            return self.responses
        end
        return transaction
    end
    return direct
end

-- chain(calls, from_bus) -> last_bus, threads (spec 2.9.5). Each link is
-- called in a new thread as calls[i](transaction, requests, to_bus) and must
-- forward the requests on to_bus and answer the transaction.
function bus.chain(calls, from_bus)
    local threads = {}
    local input = from_bus
    local last
    for i, call in ipairs(calls) do
        local to_bus = bus.new_local()
        local src = input
        threads[i] = ratchet.thread.attach(function ()
            while true do
                local transaction, requests = src:recv_request()
                if transaction then
                    ratchet.thread.attach(bus.guard, call, transaction, requests, to_bus)
                else
                    -- a TCP server bus failed to wait on its sockets: do
                    -- not spin
                    ratchet.thread.timer(0.05)
                end
            end
        end)
        input = to_bus
        last = to_bus
    end
    return last, threads
end

require "slimta.bus.proxy"
require "slimta.bus.server"
require "slimta.bus.client"

return bus
