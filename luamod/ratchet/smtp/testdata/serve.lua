-- Interop server for the Go tests: ratchet.smtp.server on PORT (STARTTLS
-- when CERT is set); each accepted message is written to OUTDIR/msgN.
require "ratchet"
require "ratchet.smtp.server"

local count = 0
local handlers = {}
function handlers:HAVE_DATA(reply, data, err)
    if err then return end
    count = count + 1
    if OUTDIR then
        local f = assert(io.open(OUTDIR .. "/msg" .. count, "wb"))
        f:write(data)
        f:close()
    end
end

ratchet.new(function ()
    local ctx
    if CERT then
        ctx = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
        ctx:load_certs(CERT)
    end
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    while true do
        local conn = listener:accept()
        ratchet.thread.attach(ratchet.smtp.server.new(conn, handlers, ctx))
    end
end, function (err, thread)
    io.stderr:write("serve.lua: ", tostring(err), "\n")
end):loop()
