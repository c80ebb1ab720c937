-- examples/flush_queue.lua, as the original shipped it (spec 5): a one-shot
-- tool that tries to deliver every stored message once.
-- Usage: flush_queue.lua memory|redis [redis-host [redis-port]]
require "ratchet"

require "slimta.bus"
require "slimta.message"
require "slimta.queue"
require "slimta.relay"
require "slimta.storage.memory"
require "slimta.storage.redis"
require "slimta.routing.mx"

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

-- {{{ run_relay()
function run_relay(bus_server)
    local relay = slimta.relay.new(bus_server)
    relay:add_relayer("SMTP", slimta.relay.smtp.new(hostname))

    while true do
        local thread = relay:accept()
        ratchet.thread.attach(thread)
    end
end
-- }}}

-- {{{ flush_all()
function flush_all(queue, storage)
    local session = storage:connect()
    local messages, invalid = queue:get_all_messages(session)

    for i, message in ipairs(messages) do
        local response = queue:try_relay(message, session)
        if response then
            print(("%s: [%s] %s"):format(message.id, response.code, response.message))
            if response.code == "250" then
                session:delete_message(message.id)
            end
        end
    end
    for i, id in ipairs(invalid) do
        print(("%s: invalid message"):format(id))
    end

    session:close()
    ratchet.thread.kill_all(service_threads)
end
-- }}}

kernel = ratchet.new(function ()
    local queue_server, queue_client = slimta.bus.new_local()

    local mx = slimta.routing.mx.new()
    local relay_bus, chain_threads = slimta.bus.chain({mx}, queue_server)

    local storage = get_storage()
    local queue = slimta.queue.new(nil, queue_client, storage)

    service_threads = {ratchet.thread.attach(run_relay, relay_bus)}
    for i, t in ipairs(chain_threads) do
        table.insert(service_threads, t)
    end
    ratchet.thread.attach(flush_all, queue, storage)
end, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)) .. "\n")
end)
kernel:loop()

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
