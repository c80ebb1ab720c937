-- SMTP sink for the throughput benchmark (shared/bench): accepts every
-- message and discards it.
--   slimta-lua bench_sink.lua PORT           HAVE_DATA hook receives each
--                                            message (as a Lua string) and
--                                            drops it
--   slimta-lua bench_sink.lua PORT nohook    no hooks at all: the engine's
--                                            defaults accept everything and
--                                            the data is never built
require "ratchet"
require "ratchet.smtp.server"

local port = tonumber(arg[1]) or 2525

local handlers = {}

if arg[2] ~= "nohook" then
    function handlers:HAVE_DATA(reply, data, err)
        -- the message is dropped
    end
end

local function on_error(err, thread)
    io.stderr:write(tostring(err), "\n")
end

ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    while true do
        local client = listener:accept()
        ratchet.thread.attach(ratchet.smtp.server.new(client, handlers))
    end
end, on_error):loop()
