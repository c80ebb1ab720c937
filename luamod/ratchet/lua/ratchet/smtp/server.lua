-- ratchet.smtp.server: an SMTP server session on an accepted ratchet socket.
-- The session loop (command parsing, replies, DATA reading) runs in Go and
-- calls the handler hooks (BANNER, EHLO, STARTTLS, MAIL, RCPT, DATA,
-- HAVE_DATA, RSET, NOOP, QUIT, CLOSE and custom verbs) as methods of the
-- handlers table.
--
-- Extension: HAVE_DATA(reply, data, err, sender, recipients) also receives
-- the envelope the engine accepted (the MAIL address and the list of RCPT
-- addresses answered 250). Commands without a hook never enter Lua and run
-- without the kernel baton, so a handler that needs no MAIL/RCPT/DATA
-- logic should leave those hooks out and read the envelope here; an EHLO
-- hook is likewise optional (the server object's ehlo_as and esmtp fields
-- say what was accepted).

require "ratchet"
local smtp_io = require "ratchet.smtp.smtp_io"
local smtp_extensions = require "ratchet.smtp.smtp_extensions"

local server = {}
server.__index = server

-- new(socket, handlers [, tls_context [, tls_immediately]]): fields
-- handlers, io, tls_context, tls_immediately, extensions (8BITMIME,
-- PIPELINING, ENHANCEDSTATUSCODES, and STARTTLS when a context is given
-- and TLS is not immediate) and, once known, ehlo_as, have_mailfrom,
-- have_rcptto, using_tls, esmtp (an EHLO, not HELO, was accepted since the
-- start or TLS). A tls_context of true means "already encrypted". These
-- fields are brought up to date before each hook runs.
local new_server = smtp_io.new_server
function server.new(socket, handlers, tls_context, tls_immediately)
    return new_server(socket, handlers, tls_context, tls_immediately, server, smtp_extensions)
end

-- Runs the whole session; returns when the client quits or disconnects.
server.handle = smtp_io.server_handle

-- Calls the CLOSE hook (once) and closes the connection.
server.close = smtp_io.server_close

server.__call = smtp_io.server_handle

ratchet.smtp = ratchet.smtp or {}
ratchet.smtp.server = server

return server
