-- proxy.lua: a store-less relay (corrected version of the original
-- examples/proxy.lua).
--
--   slimta-lua scripts/proxy.lua [--port N] [--smarthost HOST:PORT]
--
-- SMTP edge on 127.0.0.1:2525 -> one proxy that adds Received and Date
-- headers, routes by MX (or to --smarthost) and relays at once. The client
-- gets the relay's answer (there is no queue: a 4xx means "try again").
--
-- What changed from the original: setsockopt("SO_REUSEADDR", true) instead
-- of the obsolete field assignment, a proxy filter instead of misusing
-- slimta.bus.chain, and MX splits are merged back into one response per
-- message (slimta.routing.dispatch).

require "ratchet"
require "slimta"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.relay"
require "slimta.routing.mx"
require "slimta.routing.static"
require "slimta.routing.dispatch"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"

local port, smarthost = 2525, nil
do
    local i = 1
    while arg[i] do
        if arg[i] == "--port" and tonumber(arg[i + 1]) then
            port = tonumber(arg[i + 1])
        elseif arg[i] == "--smarthost" and arg[i + 1] then
            smarthost = arg[i + 1]
        else
            io.stderr:write("usage: proxy.lua [--port N] [--smarthost HOST:PORT]\n")
            os.exit(1)
        end
        i = i + 2
    end
end

local me = os.getenv("HOSTNAME") or ratchet.socket.gethostname()
local stamp_date = slimta.policies.add_date_header.new()
local stamp_received = slimta.policies.add_received_header.new()

local router
if smarthost then
    local host, p = smarthost:match("^(.+):(%d+)$")
    router = slimta.routing.static.new("SMTP", host or smarthost, tonumber(p) or 25)
else
    router = slimta.routing.mx.new()
end
local dispatcher = slimta.routing.dispatch.new(router)

local function filter(to_bus, messages)
    for _, m in ipairs(messages) do
        stamp_received:add(m)
        stamp_date:add(m)
    end
    local responses = dispatcher:relay(to_bus, messages)
    for i, m in ipairs(messages) do
        io.stdout:write(string.format("relayed from <%s>: %s %s\n", m.envelope.sender,
            tostring(responses[i].code), tostring(responses[i].message)))
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
    local relay_srv, relay_cli = slimta.bus.new_local()

    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()

    local smtp = slimta.edge.smtp.new(sock, edge_cli)
    smtp:set_banner_message("220", me .. " ESMTP slimta proxy")
    smtp:set_max_message_size(10485760)
    smtp:set_timeout(30.0)

    local relay = slimta.relay.new(relay_srv, "SMTP")
    relay:add_relayer("SMTP", slimta.relay.smtp.new(me))

    ratchet.thread.attach(slimta.bus.proxy.new(edge_srv, relay_cli, filter))
    ratchet.thread.attach(serve, smtp)
    ratchet.thread.attach(serve, relay)
    io.stdout:write(string.format("listening on 127.0.0.1:%d\n", port))
    io.stdout:flush()
end

ratchet.new(main, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
