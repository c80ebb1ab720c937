-- examples/proxy.lua, as the original shipped it (spec 5): a store-less
-- relay proxy. SMTP in on *:2525, MX routing and Date/Received headers,
-- straight out through an SMTP relay.
require "ratchet"

require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.relay"
require "slimta.routing.mx"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"

hostname = os.getenv("HOSTNAME") or ratchet.socket.gethostname()

-- {{{ start_smtp_edge()
function start_smtp_edge(bus_client)
    local rec = ratchet.socket.prepare_tcp("*", 2525)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket.SO_REUSEADDR = true
    socket:bind(rec.addr)
    socket:listen()

    local smtp = slimta.edge.smtp.new(socket, bus_client)
    smtp:set_banner_message(220, hostname .. " ESMTP slimta proxy")

    while true do
        local thread = smtp:accept()
        ratchet.thread.attach(thread)
    end
end
-- }}}

-- {{{ start_relay()
function start_relay(bus_server)
    local relay = slimta.relay.new(bus_server)
    relay:add_relayer("SMTP", slimta.relay.smtp.new(hostname))

    while true do
        local thread = relay:accept()
        ratchet.thread.attach(thread)
    end
end
-- }}}

kernel = ratchet.new(function ()
    local edge_server, edge_client = slimta.bus.new_local()

    local mx = slimta.routing.mx.new()
    local date_header = slimta.policies.add_date_header.new()
    local received_header = slimta.policies.add_received_header.new()
    local relay_bus = slimta.bus.chain({mx, date_header, received_header}, edge_server)

    ratchet.thread.attach(start_smtp_edge, edge_client)
    ratchet.thread.attach(start_relay, relay_bus)
end, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)) .. "\n")
end)
kernel:loop()

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
