-- examples/full_mta.lua, as the original shipped it (spec 5): a complete
-- MTA. Usage: full_mta.lua memory|redis [redis-host [redis-port]]
require "ratchet"
require "ratchet.smtp.smtp_auth"
require "ratchet.timerfd"

require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.queue"
require "slimta.relay"
require "slimta.storage.memory"
require "slimta.storage.redis"
require "slimta.routing.mx"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"
require "slimta.policies.add_message_id_header"

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
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local smtp = slimta.edge.smtp.new(socket, bus_client)
    smtp:set_banner_message(220, hostname .. " ESMTP slimta")
    smtp:set_max_message_size(10485760)

    while true do
        local thread = smtp:accept()
        ratchet.thread.attach(thread)
    end
end
-- }}}

-- {{{ log_received()
function log_received(from_bus, to_bus)
    while true do
        local transaction, messages = from_bus:recv_request()
        for i, msg in ipairs(messages) do
            print(("Received message from <%s> for %d recipient(s)"):format(
                msg.envelope.sender, #msg.envelope.recipients))
        end
        local responses = to_bus:send_request(messages):recv_response()
        transaction:send_response(responses)
    end
end
-- }}}

-- {{{ log_delivered()
function log_delivered(from_bus, to_bus)
    while true do
        local transaction, messages = from_bus:recv_request()
        local responses = to_bus:send_request(messages):recv_response()
        for i, msg in ipairs(messages) do
            print(("Delivery of %s: [%s] %s"):format(tostring(msg.id),
                responses[i].code, responses[i].message))
        end
        transaction:send_response(responses)
    end
end
-- }}}

-- {{{ start_queue()
function start_queue(from_bus, to_bus)
    local queue = slimta.queue.new(from_bus, to_bus, get_storage())
    queue:set_retry_algorithm(function (message)
        if message.attempts <= 5 then
            return os.time() + 600
        end
    end)
    queue:set_bounce_builder(slimta.message.bounce.new("postmaster@" .. hostname))

    ratchet.thread.attach(retry_loop, queue)

    while true do
        local thread = queue:accept()
        ratchet.thread.attach(thread)
    end
end
-- }}}

-- {{{ retry_loop()
function retry_loop(queue)
    local tfd = ratchet.timerfd.new()
    tfd:settime(5.0, 5.0)
    while true do
        tfd:read()
        local thread = queue:retry()
        if thread then
            ratchet.thread.attach(thread)
        end
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
    local relay_server, relay_client = slimta.bus.new_local()

    local date_header = slimta.policies.add_date_header.new()
    local received_header = slimta.policies.add_received_header.new()
    local message_id_header = slimta.policies.add_message_id_header.new(hostname)
    local queue_server = slimta.bus.chain({date_header, received_header, message_id_header, log_received}, edge_server)

    local mx = slimta.routing.mx.new()
    local queue_out_server, queue_out_client = slimta.bus.new_local()
    local relay_bus = slimta.bus.chain({mx, log_delivered}, queue_out_server)

    ratchet.thread.attach(start_smtp_edge, edge_client)
    ratchet.thread.attach(start_queue, queue_server, queue_out_client)
    ratchet.thread.attach(start_relay, relay_bus)
end, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)) .. "\n")
end)
kernel:loop()

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
