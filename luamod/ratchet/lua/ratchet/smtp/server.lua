-- ratchet.smtp.server: an SMTP server session on an accepted ratchet socket.
-- The session loop (command parsing, replies, DATA reading) runs in Go and
-- calls the handler hooks (BANNER, EHLO, STARTTLS, MAIL, RCPT, DATA,
-- HAVE_DATA, RSET, NOOP, QUIT, CLOSE and custom verbs) as methods of the
-- handlers table.

require "ratchet"
local smtp_io = require "ratchet.smtp.smtp_io"
local smtp_extensions = require "ratchet.smtp.smtp_extensions"

local server = {}
server.__index = server

function server.new(socket, handlers, tls_context, tls_immediately)
    local using_tls, starttls
    if tls_context == true then
        -- Documented in the original: the socket is already encrypted.
        tls_context, tls_immediately, using_tls = nil, nil, true
    elseif tls_context and not tls_immediately then
        starttls = true
    end
    -- (built with constructors: presized tables are cheaper per connection)
    local extensions = setmetatable({extensions = {
        ["8BITMIME"] = true,
        PIPELINING = true,
        ENHANCEDSTATUSCODES = true,
        STARTTLS = starttls,
    }}, smtp_extensions)
    return setmetatable({
        handlers = handlers or {},
        io = smtp_io.new(socket),
        tls_context = tls_context,
        tls_immediately = tls_immediately,
        extensions = extensions,
        using_tls = using_tls,
    }, server)
end

-- Runs the whole session; returns when the client quits or disconnects.
server.handle = smtp_io.server_handle

-- Calls the CLOSE hook (once) and closes the connection.
server.close = smtp_io.server_close

server.__call = smtp_io.server_handle

ratchet.smtp = ratchet.smtp or {}
ratchet.smtp.server = server

return server
