-- flush_queue.lua: one-shot delivery of everything in a queue's storage
-- (corrected version of the original examples/flush_queue.lua).
--
--   slimta-lua scripts/flush_queue.lua redis [host [port]] [--smarthost HOST:PORT]
--   slimta-lua scripts/flush_queue.lua disk SPOOL-DIR [--smarthost HOST:PORT]
--
-- Loads every stored message regardless of its retry time and tries to
-- relay it (MX routing, or --smarthost), printing "<id>: [<code>] <text>".
-- A 2xx deletes the message; a 5xx bounces it to its sender (the bounce is
-- stored and scheduled, so the MTA's next retry pass sends it) and deletes
-- it; a 4xx leaves it queued for the MTA. Ids that cannot be loaded are
-- listed. Do not run it while an MTA works on the same storage for long:
-- messages it is delivering are locked and get skipped ("locked").
--
-- What changed from the original: routing happens in a proxy filter instead
-- of a misused slimta.bus.chain; any 2xx counts as delivered; permanent
-- failures bounce; disk storage is supported (memory storage is always
-- empty in a new process).

require "ratchet"
require "slimta"
require "slimta.bus"
require "slimta.message"
require "slimta.queue"
require "slimta.relay"
require "slimta.routing.mx"
require "slimta.routing.static"
require "slimta.routing.dispatch"

local function usage()
    io.stderr:write("usage: flush_queue.lua redis [host [port]] | disk DIR  [--smarthost HOST:PORT]\n")
    os.exit(1)
end

local positional, smarthost = {}, nil
do
    local i = 1
    while arg[i] do
        if arg[i] == "--smarthost" then
            smarthost = arg[i + 1] or usage()
            i = i + 2
        else
            positional[#positional + 1] = arg[i]
            i = i + 1
        end
    end
end

local storage
if positional[1] == "redis" then
    require "slimta.storage.redis"
    storage = slimta.storage.redis.new(positional[2] or "localhost", tonumber(positional[3]) or 6379)
elseif positional[1] == "disk" and positional[2] then
    require "slimta.storage.disk"
    storage = slimta.storage.disk.new(positional[2])
elseif positional[1] == "memory" then
    require "slimta.storage.memory"
    storage = slimta.storage.memory.new()
else
    usage()
end

local me = os.getenv("HOSTNAME") or ratchet.socket.gethostname()
local router
if smarthost then
    local host, p = smarthost:match("^(.+):(%d+)$")
    router = slimta.routing.static.new("SMTP", host or smarthost, tonumber(p) or 25)
else
    router = slimta.routing.mx.new()
end
local dispatcher = slimta.routing.dispatch.new(router, {storage = storage})

local status = 0

local function flush(queue, service_threads)
    local session = storage:connect()
    local messages, invalid = queue:get_all_messages(session)
    local bouncer = slimta.message.bounce.new()
    for _, message in ipairs(messages) do
        local r, why = queue:try_relay(message, session)
        if r == false then
            print(tostring(message.id) .. ": [---] skipped (" .. tostring(why) .. ")")
        else
            print(tostring(message.id) .. ": [" .. tostring(r.code) .. "] " .. tostring(r.message))
            local class = tostring(r.code):sub(1, 1)
            if class == "2" then
                session:delete_message(message.id)
            elseif class ~= "4" then
                if message.envelope.sender ~= "" then
                    local bounce = bouncer:build(message, r)
                    local bid = bounce:store(session)
                    session:set_message_retry(bid, os.time())
                end
                session:delete_message(message.id)
                status = 1
            else
                status = 1
            end
        end
    end
    for _, id in ipairs(invalid or {}) do
        print(tostring(id) .. ": could not be loaded")
        status = 1
    end
    session:close()
    ratchet.thread.kill_all(service_threads)
end

local function main()
    local qout_srv, qout_cli = slimta.bus.new_local()
    local relay_srv, relay_cli = slimta.bus.new_local()

    local queue = slimta.queue.new(nil, qout_cli, storage)
    local relay = slimta.relay.new(relay_srv, "SMTP")
    relay:add_relayer("SMTP", slimta.relay.smtp.new(me))

    local threads = {}
    threads[1] = ratchet.thread.attach(slimta.bus.proxy.new(qout_srv, relay_cli, dispatcher:filter()))
    threads[2] = ratchet.thread.attach(function ()
        while true do
            ratchet.thread.attach(relay:accept())
        end
    end)
    ratchet.thread.attach(flush, queue, threads)
end

ratchet.new(main, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
    status = 2
end):loop()
os.exit(status)
