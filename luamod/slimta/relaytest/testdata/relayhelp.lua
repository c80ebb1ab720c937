-- Helpers for the relay/routing tests (required by the Go tests' snippets).
require "ratchet"
require "slimta"
require "slimta.message"
require "slimta.bus"
require "slimta.relay"

local h = {}

function h.message(sender, recipients, data, host, port, relayer)
    local client = slimta.message.client.new("ESMTP", "tester", "127.0.0.1", "none", "localhost")
    local env = slimta.message.envelope.new(sender, recipients, relayer, host, port)
    return slimta.message.new(client, env, slimta.message.contents.new(data), os.time())
end

-- Sends msgs through a fresh relay manager with the given relayers
-- (name -> relayer) and returns the responses.
function h.relay(relayers, msgs, default_name, synchronous)
    local srv, cli = slimta.bus.new_local()
    local mgr = slimta.relay.new(srv, default_name)
    for name, r in pairs(relayers) do
        mgr:add_relayer(name, r)
    end
    ratchet.thread.attach(function ()
        mgr:accept()(synchronous)
    end)
    return cli:send_request(msgs):recv_response()
end

-- Plain tables of the responses, for the Go side.
function h.plain(responses)
    local out = {}
    for i, r in ipairs(responses) do
        local fails
        if r.rcpt_failures then
            fails = {}
            for j, f in ipairs(r.rcpt_failures) do
                fails[j] = {recipient = f.recipient, code = f.code, message = f.message}
            end
        end
        out[i] = {code = r.code, message = r.message, rcpt_failures = fails}
    end
    return out
end

-- Runs fn inside a kernel; errors of fn or of any thread are re-raised.
function h.run(fn)
    local failure
    local kernel = ratchet.new(function ()
        local ok, err = pcall(fn)
        if not ok then
            failure = failure or err
        end
    end, function (err, thread)
        failure = failure or err
    end)
    kernel:loop()
    if failure then
        error(failure, 0)
    end
end

return h
