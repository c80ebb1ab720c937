-- spec 3.6: the exact reply lines of the SMTP edge, read from a raw socket.
require "ratchet"
require "slimta.message"
require "slimta.bus"
require "slimta.edge.smtp"
require "slimta.edge.smtp.auth"

smtp_port = tonumber(os.getenv("SLIMTA_TEST_SMTP_PORT")) or 2525

-- {{{ raw line client
client = {}
client.__index = client

function client.new(port)
    local rec = ratchet.socket.prepare_tcp("localhost", port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:set_timeout(2.0)
    socket:connect(rec.addr)
    return setmetatable({socket = socket, buffer = ""}, client)
end

function client:line()
    while true do
        local i = self.buffer:find("\r\n", 1, true)
        if i then
            local line = self.buffer:sub(1, i - 1)
            self.buffer = self.buffer:sub(i + 2)
            return line
        end
        local data = self.socket:recv()
        if data == "" then
            return nil
        end
        self.buffer = self.buffer .. data
    end
end

-- reply() -> all lines of one (possibly multi-line) reply
function client:reply()
    local lines = {}
    repeat
        local line = self:line()
        if not line then break end
        table.insert(lines, line)
    until line:sub(4, 4) ~= "-"
    return lines
end

function client:send(data)
    repeat
        data = self.socket:send(data)
    until not data
end

function client:cmd(command, expected)
    self:send(command .. "\r\n")
    local got = table.concat(self:reply(), "\n")
    assert(expected == got, ("%s: expected [%s], got [%s]"):format(command, expected, got))
end
-- }}}

queued = {}

function run_queue(bus)
    while true do
        local transaction, messages = bus:recv_request()
        local responses = {}
        for i, msg in ipairs(messages) do
            table.insert(queued, msg)
            if msg.envelope.sender == "fail@example.net" then
                responses[i] = slimta.message.response.new("550", "5.7.1 Rejected by policy")
            elseif msg.envelope.sender == "multi@example.net" then
                responses[i] = slimta.message.response.new("451", "first line\r\nsecond line")
            else
                responses[i] = slimta.message.response.new("250", "Message queued as id-" .. #queued, "id-" .. #queued)
            end
        end
        transaction:send_response(responses)
    end
end

function run_edge(edge)
    while true do
        ratchet.thread.attach(edge:accept())
    end
end

function session_plain()
    local c = client.new(smtp_port)
    assert("220 ESMTP Welcome" == c:line())
    c:cmd("MAIL FROM:<alice@example.net>", "503 5.5.1 Bad sequence of commands")
    c:cmd("EHLO client.example.net", table.concat({
        "250-Hello client.example.net",
        "250-8BITMIME",
        "250-PIPELINING",
        "250-ENHANCEDSTATUSCODES",
        "250-SIZE 10485760",
        "250 AUTH CRAM-MD5",
    }, "\n"))
    c:cmd("FOO bar", "500 5.5.2 Syntax error, command unrecognized")
    c:cmd("STARTTLS", "500 5.5.2 Syntax error, command unrecognized")
    c:cmd("NOOP", "250 2.0.0 Ok")
    c:cmd("DATA", "503 5.5.1 No valid sender given")
    c:cmd("MAIL TO:<alice@example.net>", "501 5.5.4 Syntax error in parameters or arguments")
    c:cmd("MAIL FROM:<alice@example.net> SIZE=20000000", "552 5.3.4 Message size exceeds 10485760 limit")
    c:cmd("MAIL FROM:<alice@example.net> SIZE=1234", "250 2.1.0 Sender <alice@example.net> Ok")
    c:cmd("MAIL FROM:<alice@example.net>", "503 5.5.1 Bad sequence of commands")
    c:cmd("DATA", "503 5.5.1 No valid recipients given")
    c:cmd("RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> Ok")
    c:cmd("RCPT TO:<carol@example.org>", "250 2.1.5 Recipient <carol@example.org> Ok")
    c:cmd("DATA", "354 Start mail input; end with <CRLF>.<CRLF>")
    c:cmd("Subject: one\r\n\r\n..dot\r\nbody\r\n.", "250 2.6.0 Message queued as id-1")
    local msg = queued[1]
    assert("ESMTP" == msg.client.protocol)
    assert("client.example.net" == msg.client.ehlo)
    assert("127.0.0.1" == msg.client.ip)
    assert("none" == msg.client.security)
    assert(nil == msg.client.auth_info)
    assert("alice@example.net" == msg.envelope.sender)
    assert(2 == #msg.envelope.recipients)
    assert("From: alice@example.net\r\nSubject: one\r\n\r\n.dot\r\nbody" == tostring(msg.contents), tostring(msg.contents))
    assert(type(msg.timestamp) == "number")

    -- codes and texts from the queue keep their class; ESC follows the code
    c:cmd("MAIL FROM:<fail@example.net>", "250 2.1.0 Sender <fail@example.net> Ok")
    c:cmd("RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> Ok")
    c:cmd("DATA", "354 Start mail input; end with <CRLF>.<CRLF>")
    c:cmd("From: someone\r\n\r\nbody\r\n.", "550 5.6.0 Rejected by policy")
    assert("From: someone\r\n\r\nbody" == tostring(queued[2].contents))

    c:cmd("MAIL FROM:<multi@example.net>", "250 2.1.0 Sender <multi@example.net> Ok")
    c:cmd("RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> Ok")
    c:cmd("DATA", "354 Start mail input; end with <CRLF>.<CRLF>")
    c:cmd("body\r\n.", "451-4.6.0 first line\n451 4.6.0 second line")

    c:cmd("RSET", "250 2.0.0 Ok")
    c:cmd("RSET x", "501 5.5.4 Syntax error in parameters or arguments")
    c:cmd("HELO other.example.net", "250 Hello other.example.net")
    c:cmd("QUIT", "221 2.0.0 Bye")
    assert(nil == c:line())
end

function session_banner_helo()
    local c = client.new(smtp_port)
    assert("220 ESMTP Welcome" == c:line())
    c:cmd("HELO client.example.net", "250 Hello client.example.net")
    c:cmd("MAIL FROM:<>", "250 2.1.0 Sender <> Ok")
    c:cmd("RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> Ok")
    c:cmd("DATA", "354 Start mail input; end with <CRLF>.<CRLF>")
    c:cmd("Subject: bounce\r\n\r\nbody\r\n.", "250 2.6.0 Message queued as id-4")
    local msg = queued[4]
    assert("" == msg.envelope.sender)
    c:cmd("QUIT", "221 2.0.0 Bye")
end

function session_too_big()
    local c = client.new(smtp_port)
    assert("220 ESMTP Welcome" == c:line())
    c:cmd("EHLO client.example.net", table.concat({
        "250-Hello client.example.net",
        "250-8BITMIME",
        "250-PIPELINING",
        "250-ENHANCEDSTATUSCODES",
        "250-SIZE 10485760",
        "250 AUTH CRAM-MD5",
    }, "\n"))
    c:cmd("MAIL FROM:<alice@example.net>", "250 2.1.0 Sender <alice@example.net> Ok")
    c:cmd("RCPT TO:<bob@example.org>", "250 2.1.5 Recipient <bob@example.org> Ok")
    c:cmd("DATA", "354 Start mail input; end with <CRLF>.<CRLF>")
    local line = ("x"):rep(998) .. "\r\n"
    local chunk = line:rep(1024)
    for i = 1, 11 do
        c:send(chunk)
    end
    -- a command in the body must not be executed (spec 6.1)
    c:send("RCPT TO:<smuggled@example.org>\r\n")
    c:cmd(".", "552 5.3.4 Message exceeded size limit.")
    c:cmd("NOOP", "250 2.0.0 Ok")
    c:cmd("QUIT", "221 2.0.0 Bye")
    assert(4 == #queued)
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", smtp_port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    local server_bus, client_bus = slimta.bus.new_local()
    local edge = slimta.edge.smtp.new(socket, client_bus)
    edge:set_max_message_size(10485760)
    local auth = slimta.edge.smtp.auth.new()
    auth:add_mechanism("CRAM-MD5", function () return "secret" end, "testhost")
    auth:add_mechanism("PLAIN", function () return "secret" end)
    edge:enable_authentication(auth)

    local edge_thread = ratchet.thread.attach(run_edge, edge)
    local queue_thread = ratchet.thread.attach(run_queue, server_bus)
    local t1 = ratchet.thread.attach(session_plain)
    ratchet.thread.wait_all({t1})
    local t2 = ratchet.thread.attach(session_banner_helo)
    ratchet.thread.wait_all({t2})
    local t3 = ratchet.thread.attach(session_too_big)
    ratchet.thread.wait_all({t3})
    ratchet.thread.kill_all({edge_thread, queue_thread})
    edge:close()
    done = true
end, function (err, thread)
    io.stderr:write(debug.traceback(thread, tostring(err)), "\n")
    os.exit(1)
end)
kernel:loop()
assert(done)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
