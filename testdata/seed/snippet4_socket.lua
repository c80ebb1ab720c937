-- Seed snippet 4 verbatim: a server socket on port 25, as an MTA creates
-- it. Port 25 may be taken on a developer machine (or need root): then
-- the same lines run on a free port, and the error must be a clean
-- ratchet.error, never a crash.
require "ratchet"
require "slimta"

local ok, err = pcall(function ()
   local rec = ratchet.socket.prepare_tcp("0.0.0.0", 25)
   local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
   socket:setsockopt("SO_REUSEADDR", true)
   socket:bind(rec.addr)
   socket:listen()
   assert(rec.family == 2 and rec.socktype == 1)
   assert(tostring(rec.addr):match("0%.0%.0%.0"))
   socket:close()
end)
if not ok then
    assert(ratchet.error.is(err, "EADDRINUSE") or ratchet.error.is(err, "EACCES"), tostring(err))
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    socket:close()
end
