-- Throughput benchmark target: slimta.edge.smtp on 127.0.0.1:PORT feeding a
-- local bus whose consumer acknowledges every message (a sink: nothing is
-- stored or logged). Run it under /work/shared/bench:
--   compare.sh --candidate '/tmp/slimta-lua bench_edge.lua {PORT}'
-- Usage: slimta-lua bench_edge.lua PORT [HOST]
require "ratchet"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"

local port = tonumber(arg and arg[1] or ...)
local host = arg and arg[2] or "127.0.0.1"
assert(port, "usage: slimta-lua bench_edge.lua PORT [HOST]")

ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp(host, port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()

    local bus_server, bus_client = slimta.bus.new_local()
    local edge = slimta.edge.smtp.new(sock, bus_client)
    edge:set_banner_message(220, "bench ESMTP slimta-lua")
    edge:set_max_message_size(10485760)
    edge:set_timeout(60)

    local response = slimta.message.response
    ratchet.thread.attach(function ()
        local n = 0
        while true do
            local transaction, messages = bus_server:recv_request()
            local out = {}
            for i = 1, #messages do
                n = n + 1
                out[i] = response.new("250", "Message queued as " .. n)
            end
            transaction:send_response(out)
        end
    end)

    while true do
        ratchet.thread.attach(edge:accept())
    end
end, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
end):loop()
