-- Misbehaving clients against ratchet.smtp.server: garbage, overlong
-- lines, NUL bytes, oversize and smuggling DATA, hundreds of pipelined
-- commands. Each gets the right replies and a clean end, while a normal
-- session on the same server keeps working.
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local messages = {}
local handlers = {}
function handlers:HAVE_DATA(reply, data, err)
    if err then
        assert(ratchet.error.is(err, "MSGTOOBIG"))
        return
    end
    messages[#messages + 1] = data
end

-- Reads replies until n final lines ("ddd " form) arrived or the peer
-- closed; returns the list of lines and whether the connection closed.
local function read_replies(sock, n, buf)
    local lines, finals = {}, 0
    buf = buf or {data = ""}
    while finals < n do
        local i = buf.data:find("\r\n", 1, true)
        if i then
            local line = buf.data:sub(1, i - 1)
            buf.data = buf.data:sub(i + 2)
            lines[#lines + 1] = line
            if line:match("^%d%d%d ") then finals = finals + 1 end
        else
            local got = sock:recv()
            if got == "" then return lines, true end
            buf.data = buf.data .. got
        end
    end
    return lines, false
end

local function connect(rec)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    local lines = read_replies(s, 1)
    assert(lines[1]:match("^220 "), lines[1])
    return s
end

local function send(s, data)
    repeat data = s:send(data) until not data
end

local function expect_closed(s)
    local rest = s:recv()
    while rest ~= "" do rest = s:recv() end
    s:close()
end

local tests = {}

function tests.garbage(rec)
    local s = connect(rec)
    local junk = {}
    for i = 1, 30 do junk[#junk + 1] = "GET /index" .. i .. " HTTP/1.1\r\n" end
    send(s, table.concat(junk))
    local lines, closed = read_replies(s, 30)
    local n500 = 0
    for _, l in ipairs(lines) do
        if l:match("^500 5%.5%.2 ") then n500 = n500 + 1 end
    end
    assert(n500 == 20, "500 replies: " .. n500)
    assert(lines[#lines]:match("^421 4%.7%.0 "), lines[#lines])
    assert(closed)
    s:close()
end

function tests.long_line(rec)
    local s = connect(rec)
    send(s, "NOOP " .. string.rep("x", 5000) .. "\r\nNOOP\r\n")
    local lines = read_replies(s, 2)
    assert(lines[1] == "500 5.5.2 Line too long", lines[1])
    assert(lines[2] == "250 2.0.0 Ok", lines[2])
    -- a line of exactly 1000 bytes with CRLF is fine, 1001 is not
    send(s, "NOOP " .. string.rep("y", 993) .. "\r\n" .. "NOOP " .. string.rep("y", 994) .. "\r\n")
    lines = read_replies(s, 2)
    assert(lines[1] == "250 2.0.0 Ok", lines[1])
    assert(lines[2] == "500 5.5.2 Line too long", lines[2])
    send(s, "QUIT\r\n")
    assert(read_replies(s, 1)[1] == "221 2.0.0 Bye")
    expect_closed(s)
end

function tests.nul_and_bare_lf(rec)
    local s = connect(rec)
    send(s, "NO\0OP\r\nNOOP\nEHLO lf\n")
    local lines = read_replies(s, 3)
    assert(lines[1]:match("^500 5%.5%.2 "), lines[1])
    assert(lines[2] == "250 2.0.0 Ok", lines[2])
    assert(lines[#lines]:match("^250 "), lines[#lines])
    send(s, "QUIT\r\n")
    read_replies(s, 1)
    expect_closed(s)
end

function tests.oversize_and_smuggling(rec)
    local s = connect(rec)
    send(s, "EHLO x\r\n")
    read_replies(s, 1)
    send(s, "MAIL FROM:<a@b> SIZE=5000\r\n")
    assert(read_replies(s, 1)[1] == "552 5.3.4 Message size exceeds 100 limit")
    send(s, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    local lines = read_replies(s, 3)
    assert(lines[3]:match("^354 "), lines[3])
    -- 2000 bytes of data whose lines look like commands
    local body = {}
    for i = 1, 40 do body[#body + 1] = "RCPT TO:<smuggled" .. i .. "@x>\r\n" end
    send(s, table.concat(body) .. ".\r\nNOOP\r\n")
    lines = read_replies(s, 2)
    assert(lines[1] == "552 5.3.4 Message size exceeds fixed limit", lines[1])
    assert(lines[2] == "250 2.0.0 Ok", lines[2])
    -- bare-LF "end of data" sequences do not end the data
    send(s, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    read_replies(s, 3)
    send(s, "x\n.\nMAIL FROM:<e>\r\n\n.\r\nz\r\n.\r\n")
    lines = read_replies(s, 1)
    assert(lines[1]:match("^250 2%.6%.0 "), lines[1])
    send(s, "QUIT\r\n")
    read_replies(s, 1)
    expect_closed(s)
end

function tests.pipelined(rec)
    local s = connect(rec)
    local cmds = {"EHLO pipe\r\n"}
    for i = 1, 300 do
        cmds[#cmds + 1] = "MAIL FROM:<a" .. i .. "@b>\r\nRCPT TO:<c@d>\r\nRSET\r\n"
    end
    cmds[#cmds + 1] = "MAIL FROM:<z@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
    send(s, table.concat(cmds))
    local lines = read_replies(s, 1 + 900 + 3)
    local finals = 0
    for _, l in ipairs(lines) do
        assert(l:match("^2%d%d") or l:match("^354"), l)
        if l:match("^%d%d%d ") then finals = finals + 1 end
    end
    assert(finals == 904)
    send(s, "pipelined message\r\n.\r\nQUIT\r\n")
    lines = read_replies(s, 2)
    assert(lines[1]:match("^250 2%.6%.0 "), lines[1])
    assert(lines[2] == "221 2.0.0 Bye")
    expect_closed(s)
end

function tests.early_close(rec)
    local s = connect(rec)
    send(s, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhalf a mess")
    read_replies(s, 2)
    s:close()
end

function tests.normal(rec)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    local c = ratchet.smtp.client.new(s)
    assert(c:get_banner().code == "220")
    assert(c:ehlo("normal").code == "250")
    c:mailfrom("n@b")
    c:rcptto("c@d")
    assert(c:data().code == "354")
    assert(c:send_data("normal message").code == "250")
    assert(c:quit().code == "221")
end

local names = {}
for name in pairs(tests) do names[#names + 1] = name end
table.sort(names)

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    local threads = {}
    for _, name in ipairs(names) do
        threads[#threads + 1] = ratchet.thread.attach(tests[name], rec)
    end
    for i = 1, #names do
        local conn = listener:accept()
        local server = ratchet.smtp.server.new(conn, handlers)
        server.extensions:add("SIZE", "100")
        ratchet.thread.attach(server)
    end
end)
kernel:loop()
table.sort(messages)
assert(#messages == 3, #messages)
assert(messages[1] == "normal message")
assert(messages[2] == "pipelined message")
assert(messages[3] == "x\n.\nMAIL FROM:<e>\r\n\n.\r\nz", messages[3])
