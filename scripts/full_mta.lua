-- full_mta.lua: a complete MTA built from the slimta parts (corrected
-- version of the original examples/full_mta.lua).
--
--   slimta-lua scripts/full_mta.lua memory|redis [redis-host [redis-port]] [--port N] [--smarthost HOST:PORT]
--
-- SMTP edge on 127.0.0.1:2525 -> pre-queue proxy (Received, Date and
-- Message-Id headers, one log line per message) -> queue (memory or Redis
-- storage; retries up to 5 attempts, 10 minutes apart; bounces from the
-- null sender) -> post-queue proxy (MX routing, or --smarthost; one log line
-- per delivery) -> relay manager -> SMTP relay with EHLO = host name.
-- A retry thread looks for due messages every 5 seconds.
--
-- What changed from the original: no bogus ratchet.smtp.smtp_auth require;
-- proxies with filter functions instead of misusing slimta.bus.chain; MX
-- routing splits are merged back into one response per message
-- (slimta.routing.dispatch); bounces come from the null sender.

require "ratchet"
require "slimta"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.queue"
require "slimta.relay"
require "slimta.routing.mx"
require "slimta.routing.static"
require "slimta.routing.dispatch"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"
require "slimta.policies.add_message_id_header"

local function usage()
    io.stderr:write("usage: full_mta.lua memory|redis [redis-host [redis-port]] [--port N] [--smarthost HOST:PORT]\n")
    os.exit(1)
end

-- Positional arguments as in the original, then optional flags.
local positional, port, smarthost = {}, 2525, nil
do
    local i = 1
    while arg[i] do
        if arg[i] == "--port" then
            port = tonumber(arg[i + 1]) or usage()
            i = i + 2
        elseif arg[i] == "--smarthost" then
            smarthost = arg[i + 1] or usage()
            i = i + 2
        else
            positional[#positional + 1] = arg[i]
            i = i + 1
        end
    end
end
local kind = positional[1]
if kind ~= "memory" and kind ~= "redis" then
    usage()
end

local me = os.getenv("HOSTNAME") or ratchet.socket.gethostname()

local storage
if kind == "redis" then
    require "slimta.storage.redis"
    storage = slimta.storage.redis.new(positional[2] or "localhost", tonumber(positional[3]) or 6379)
else
    require "slimta.storage.memory"
    storage = slimta.storage.memory.new()
end

local stamp_date = slimta.policies.add_date_header.new()
local stamp_received = slimta.policies.add_received_header.new()
local stamp_msgid = slimta.policies.add_message_id_header.new(me)

local function log(...)
    io.stdout:write(os.date("%Y-%m-%d %H:%M:%S "), string.format(...), "\n")
    io.stdout:flush()
end

local function prequeue(to_bus, messages)
    for _, m in ipairs(messages) do
        stamp_received:add(m)
        stamp_date:add(m)
        stamp_msgid:add(m)
    end
    local responses = to_bus:send_request(messages):recv_response()
    for i, m in ipairs(messages) do
        local r = responses[i]
        log("received %s from <%s> to %d recipient(s): %s %s", tostring(m.id),
            m.envelope.sender, #m.envelope.recipients, tostring(r.code), tostring(r.message))
    end
    return responses
end

local router
if smarthost then
    local host, p = smarthost:match("^(.+):(%d+)$")
    router = slimta.routing.static.new("SMTP", host or smarthost, tonumber(p) or 25)
else
    router = slimta.routing.mx.new()
end

local dispatcher = slimta.routing.dispatch.new(router, {
    storage = storage,
    log = function (rec)
        log("delivery of %s (attempt %d): %s %s", tostring(rec.message.id),
            (rec.message.attempts or 0) + 1, tostring(rec.response.code), tostring(rec.response.message))
    end,
})

local function serve(obj)
    while true do
        ratchet.thread.attach(obj:accept())
    end
end

local function retry_loop(queue)
    while true do
        local job = queue:retry()
        if job then
            ratchet.thread.attach(job)
        end
        ratchet.thread.timer(5.0)
    end
end

local function main()
    local edge_srv, edge_cli = slimta.bus.new_local()
    local qin_srv, qin_cli = slimta.bus.new_local()
    local qout_srv, qout_cli = slimta.bus.new_local()
    local relay_srv, relay_cli = slimta.bus.new_local()

    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()

    local smtp = slimta.edge.smtp.new(sock, edge_cli)
    smtp:set_banner_message("220", me .. " ESMTP slimta")
    smtp:set_max_message_size(10485760)
    smtp:set_timeout(30.0)

    local queue = slimta.queue.new(qin_srv, qout_cli, storage)
    queue:set_retry_algorithm(function (message)
        if message.attempts < 5 then
            return os.time() + 600
        end
    end)
    queue:set_bounce_builder(slimta.message.bounce.new(""))

    local relay = slimta.relay.new(relay_srv, "SMTP")
    relay:add_relayer("SMTP", slimta.relay.smtp.new(me))

    ratchet.thread.attach(slimta.bus.proxy.new(edge_srv, qin_cli, prequeue))
    ratchet.thread.attach(slimta.bus.proxy.new(qout_srv, relay_cli, dispatcher:filter()))
    ratchet.thread.attach(serve, smtp)
    ratchet.thread.attach(serve, queue)
    ratchet.thread.attach(serve, relay)
    ratchet.thread.attach(retry_loop, queue)
    log("listening on 127.0.0.1:%d (%s storage)", port, kind)
end

ratchet.new(main, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
