-- Shared by the storage/queue test scripts. Globals set by the Go test:
-- ENGINE ("memory", "disk" or "redis"), DISK_DIR, REDIS_PORT.

require "ratchet"
require "slimta.message"
require "slimta.storage.memory"
require "slimta.storage.disk"
require "slimta.storage.redis"

local created = 0

-- new_storage() returns a fresh, empty engine of the kind under test.
function new_storage()
    created = created + 1
    if ENGINE == "memory" then
        return slimta.storage.memory.new()
    elseif ENGINE == "disk" then
        return slimta.storage.disk.new(DISK_DIR .. "/store" .. created)
    elseif ENGINE == "redis" then
        -- four databases per engine; the server has 64 and is flushed
        -- before every script
        return slimta.storage.redis.new("127.0.0.1", REDIS_PORT, (created - 1) * 4)
    end
    error("unknown ENGINE " .. tostring(ENGINE))
end

function test_message(sender, contents)
    local m = slimta.message
    local client = m.client.new("SMTP", "testing", "1.2.3.4", "TLS", "localhost")
    local env = m.envelope.new(sender or "sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"}, "SMTP", "localhost", 2525)
    return m.new(client, env, m.contents.new(contents or "test contents"), 12345)
end

-- local_bus() returns server_end, client_end: slimta.bus.new_local() when
-- the bus modules are available, else a minimal stand-in with the same
-- protocol (spec 2.9.2).
function local_bus()
    local ok, bus = pcall(require, "slimta.bus")
    if ok and slimta.bus and slimta.bus.new_local then
        local ok2, s, c = pcall(slimta.bus.new_local)
        if ok2 then
            return s, c
        end
    end
    local b = {pending = {}}
    function b:send_request(req)
        local tr = {request = req}
        function tr:send_response(res)
            self.response = res
            if self.waiter then
                local w = self.waiter
                self.waiter = nil
                ratchet.thread.unpause(w)
            end
        end
        function tr:recv_response()
            while self.response == nil do
                self.waiter = ratchet.thread.self()
                ratchet.thread.pause()
            end
            return self.response
        end
        self.pending[#self.pending + 1] = tr
        if self.waiting then
            local w = self.waiting
            self.waiting = nil
            ratchet.thread.unpause(w)
        end
        return tr
    end
    function b:recv_request()
        while #self.pending == 0 do
            self.waiting = ratchet.thread.self()
            ratchet.thread.pause()
        end
        local tr = table.remove(self.pending, 1)
        return tr, tr.request
    end
    return b, b
end

-- fake_relay(bus, answers) attaches a thread that answers #answers relay
-- requests: answer i is a response or a function(message) -> response.
function fake_relay(bus, answers)
    local seen = {}
    local thread = ratchet.thread.attach(function ()
        for i = 1, #answers do
            local tr, reqs = bus:recv_request()
            local a = answers[i]
            local res = {}
            for j, msg in ipairs(reqs) do
                seen[#seen + 1] = msg
                if type(a) == "function" then
                    res[j] = a(msg)
                else
                    res[j] = a
                end
            end
            tr:send_response(res)
        end
    end)
    return thread, seen
end

function response(code, text)
    return slimta.message.response.new(code, text or "Testing")
end

function count_ids(list)
    return tonumber(list.n) or #list
end

-- run(fn) runs fn in a ratchet kernel and re-raises its first error.
function run(fn)
    local failure
    ratchet.new(fn, function (err, thread)
        failure = failure or (tostring(err) .. "\n" .. debug.traceback())
    end):loop()
    if failure then
        error(failure, 0)
    end
end
