-- Shared helpers of the edge tests (loaded with dofile).
require "ratchet"

local h = {}

function h.listen(port)
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    sock:bind(rec.addr)
    sock:listen()
    return sock
end

function h.connect(port)
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:set_timeout(5.0)
    sock:connect(rec.addr)
    return sock
end

-- A raw line-based SMTP conversation, to check reply bytes exactly.
local conv = {}
conv.__index = conv

function h.conversation(sock)
    return setmetatable({sock = sock, buf = ""}, conv)
end

function conv:line()
    while true do
        local i = self.buf:find("\r\n", 1, true)
        if i then
            local l = self.buf:sub(1, i - 1)
            self.buf = self.buf:sub(i + 2)
            return l
        end
        local data = self.sock:recv()
        if data == "" then
            local rest = self.buf
            self.buf = ""
            return rest ~= "" and rest or nil
        end
        self.buf = self.buf .. data
    end
end

-- reply() -> code, {lines without the code prefix}
function conv:reply()
    local lines = {}
    while true do
        local l = self:line()
        if not l then
            return nil, lines
        end
        local code, sep, text = l:match("^(%d%d%d)([ %-]?)(.*)$")
        assert(code, "not a reply line: " .. l)
        lines[#lines + 1] = text
        if sep ~= "-" then
            return code, lines, table.concat(lines, "\n")
        end
    end
end

function conv:send(data)
    local rest = data
    repeat
        rest = self.sock:send(rest)
    until not rest or rest == ""
end

-- cmd(line) -> code, lines, text
function conv:cmd(line)
    self:send(line .. "\r\n")
    return self:reply()
end

-- expect(line, code [, text]): send line, check the code and the full text
-- of the last reply line.
function conv:expect(line, code, text)
    local got, lines = self:cmd(line)
    assert(got == code, ("%s -> %s %s (want %s)"):format(line, tostring(got), table.concat(lines, " | "), code))
    if text then
        assert(lines[#lines] == text, ("%s -> %q (want %q)"):format(line, lines[#lines], text))
    end
    return lines
end

-- quit(): QUIT, check the 221, close our end (so a TLS server does not
-- wait for our close_notify)
function conv:quit()
    self:expect("QUIT", "221", "2.0.0 Bye")
    self.sock:close()
end

h.b64 = require("slimta.base64").encode

-- wait_for(pred): yields to other threads until pred() holds
function h.wait_for(pred, what)
    for _ = 1, 500 do
        if pred() then
            return
        end
        ratchet.thread.timer(0.01)
    end
    error("timed out waiting for " .. (what or "condition"), 2)
end

-- edge_exchange(opts): one message through an SMTP edge and a local bus.
--   opts.setup(edge)            configure the edge
--   opts.client(port)           client thread body
--   opts.check(msg)             assertions on the message the bus got
--   opts.response               response to send back (default 451 Testing)
-- Returns when the client finished and the edge is closed.
function h.edge_exchange(opts)
    require "slimta.bus"
    require "slimta.message"
    require "slimta.edge.smtp"
    local port = free_port()
    local client_ok, server_ok = false, false
    ratchet.new(function ()
        local bus_server, bus_client = slimta.bus.new_local()
        local edge = slimta.edge.smtp.new(h.listen(port), bus_client)
        if opts.setup then
            opts.setup(edge)
        end
        local acceptor = ratchet.thread.attach(function ()
            while true do
                ratchet.thread.attach(edge:accept())
            end
        end)
        ratchet.thread.attach(function ()
            opts.client(port)
            client_ok = true
        end)
        local n = opts.messages or 1
        for _ = 1, n do
            local transaction, messages = bus_server:recv_request()
            assert(#messages == 1)
            if opts.check then
                opts.check(messages[1])
            end
            transaction:send_response({opts.response or slimta.message.response.new("451", "Testing")})
        end
        h.wait_for(function () return client_ok end, "client")
        ratchet.thread.kill(acceptor)
        edge:close()
        server_ok = true
    end):loop()
    assert(client_ok and server_ok)
end

return h
