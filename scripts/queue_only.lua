-- queue_only.lua: receive and store, never deliver (corrected version of
-- the original examples/queue_only.lua).
--
--   slimta-lua scripts/queue_only.lua memory|redis [redis-host [redis-port]] [--port N]
--
-- SMTP edge on 127.0.0.1:2525 -> pre-queue proxy (Received and Date
-- headers) -> queue without a relay bus: messages are stored (and answered
-- "250 ... queued as <id>") and stay there. flush_queue.lua delivers them
-- later (with Redis storage; memory storage dies with the process).
--
-- What changed from the original: setsockopt("SO_REUSEADDR", true) instead
-- of the obsolete field assignment, and a proxy with a filter function
-- instead of misusing slimta.bus.chain.

require "ratchet"
require "slimta"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.queue"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"

local function usage()
    io.stderr:write("usage: queue_only.lua memory|redis [redis-host [redis-port]] [--port N]\n")
    os.exit(1)
end

local positional, port = {}, 2525
do
    local i = 1
    while arg[i] do
        if arg[i] == "--port" then
            port = tonumber(arg[i + 1]) or usage()
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

local storage
if kind == "redis" then
    require "slimta.storage.redis"
    storage = slimta.storage.redis.new(positional[2] or "localhost", tonumber(positional[3]) or 6379)
else
    require "slimta.storage.memory"
    storage = slimta.storage.memory.new()
end

local me = os.getenv("HOSTNAME") or ratchet.socket.gethostname()
local stamp_date = slimta.policies.add_date_header.new()
local stamp_received = slimta.policies.add_received_header.new()

local function prequeue(to_bus, messages)
    for _, m in ipairs(messages) do
        stamp_received:add(m)
        stamp_date:add(m)
    end
    local responses = to_bus:send_request(messages):recv_response()
    for i, m in ipairs(messages) do
        io.stdout:write(string.format("stored %s from <%s>: %s %s\n", tostring(m.id),
            m.envelope.sender, tostring(responses[i].code), tostring(responses[i].message)))
    end
    io.stdout:flush()
    return responses
end

local function serve(obj)
    while true do
        ratchet.thread.attach(obj:accept())
    end
end

local function main()
    local edge_srv, edge_cli = slimta.bus.new_local()
    local qin_srv, qin_cli = slimta.bus.new_local()

    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()

    local smtp = slimta.edge.smtp.new(sock, edge_cli)
    smtp:set_banner_message("220", me .. " ESMTP slimta queue")
    smtp:set_max_message_size(10485760)
    smtp:set_timeout(30.0)

    local queue = slimta.queue.new(qin_srv, nil, storage)

    ratchet.thread.attach(slimta.bus.proxy.new(edge_srv, qin_cli, prequeue))
    ratchet.thread.attach(serve, smtp)
    ratchet.thread.attach(serve, queue)
    io.stdout:write(string.format("listening on 127.0.0.1:%d (%s storage)\n", port, kind))
    io.stdout:flush()
end

ratchet.new(main, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
