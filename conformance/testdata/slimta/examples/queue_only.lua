-- examples/queue_only.lua, as the original shipped it (spec 5): SMTP in on
-- *:2525, Date/Received headers, a queue that only stores.
-- Usage: queue_only.lua memory|redis [redis-host [redis-port]]
require "ratchet"

require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.queue"
require "slimta.storage.memory"
require "slimta.storage.redis"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"

hostname = os.getenv("HOSTNAME") or ratchet.socket.gethostname()

if arg[1] ~= "memory" and arg[1] ~= "redis" then
    io.stderr:write("usage: " .. arg[0] .. " memory|redis [redis-host [redis-port]]\n")
    os.exit(1)
end

function get_storage()
    if arg[1] == "redis" then
        return slimta.storage.redis.new(table.unpack(arg, 2))
    else
        return slimta.storage.memory.new()
    end
end

-- {{{ start_smtp_edge()
function start_smtp_edge(bus_client)
    local rec = ratchet.socket.prepare_tcp("*", 2525)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket.SO_REUSEADDR = true
    socket:bind(rec.addr)
    socket:listen()

    local smtp = slimta.edge.smtp.new(socket, bus_client)
    smtp:set_banner_message(220, hostname .. " ESMTP slimta queue")

    while true do
        local thread = smtp:accept()
        ratchet.thread.attach(thread)
    end
end
-- }}}

-- {{{ start_queue()
function start_queue(bus_server, storage)
    local queue = slimta.queue.new(bus_server, nil, storage)

    while true do
        local thread = queue:accept()
        ratchet.thread.attach(thread, storage)
    end
end
-- }}}

kernel = ratchet.new(function ()
    local edge_server, edge_client = slimta.bus.new_local()

    local date_header = slimta.policies.add_date_header.new()
    local received_header = slimta.policies.add_received_header.new()
    local queue_bus = slimta.bus.chain({date_header, received_header}, edge_server)

    ratchet.thread.attach(start_smtp_edge, edge_client)
    ratchet.thread.attach(start_queue, queue_bus, get_storage())
end, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)) .. "\n")
end)
kernel:loop()

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
