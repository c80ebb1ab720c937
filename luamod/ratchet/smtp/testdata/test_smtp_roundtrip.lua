-- Byte-exact round trips client -> server: the server must see the
-- client's text with CR removed, LF turned into CRLF and the final line
-- end dropped; leading dots survive; sizes from 0 bytes to BIG (50 MiB).
require "ratchet"
require "ratchet.smtp.client"
require "ratchet.smtp.server"

local big = BIG or 50 * 1024 * 1024

local function expect_of(unit_in, unit_out, n)
    -- n repetitions of a unit, minus the last line end
    local s = string.rep(unit_out, n)
    return s:sub(1, #s - 2)
end

local cases = {
    {"", ""},
    {"a", "a"},
    {"a\n", "a"},
    {"a\r\n", "a"},
    {".", "."},
    {".\n", "."},
    {"..", ".."},
    {"\n", ""},
    {"\n\n", "\r\n"},
    {"line 1\nline 2\r\n.\n..\nend", "line 1\r\nline 2\r\n.\r\n..\r\nend"},
    {"x\ry\r\n", "xy"},
    {".\r\n.\r\n", ".\r\n."},
    {string.rep(".a\n", 100000), expect_of(".a\n", ".a\r\n", 100000)},
    {string.rep("0123456789abcdef", 8192), string.rep("0123456789abcdef", 8192)},
}
local nbig = math.floor(big / 64)
local unit = string.rep("x", 61) .. "\n"
unit = "." .. unit:sub(2)
cases[#cases + 1] = {string.rep(unit, nbig), expect_of(unit, unit:sub(1, #unit - 1) .. "\r\n", nbig)}

local received = {}
local handlers = {}
function handlers:HAVE_DATA(reply, data, err)
    assert(not err, tostring(err))
    received[#received + 1] = data
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    ratchet.thread.attach(function ()
        local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        socket:connect(rec.addr)
        local client = ratchet.smtp.client.new(socket)
        assert(client:get_banner().code == "220")
        assert(client:ehlo("roundtrip").code == "250")
        for i, case in ipairs(cases) do
            client:mailfrom("a@example.com")
            client:rcptto("b@example.com")
            assert(client:data().code == "354")
            local reply = client:send_data(case[1])
            assert(reply.code == "250", reply.code .. " " .. tostring(reply.message))
            local got = received[i]
            if got ~= case[2] then
                error(("case %d: %d bytes sent, got %d bytes, want %d"):format(i, #case[1], #got, #case[2]))
            end
        end
        -- send_empty_data is the lone terminator
        client:mailfrom("a@example.com")
        client:rcptto("b@example.com")
        assert(client:data().code == "354")
        assert(client:send_empty_data().code == "250")
        assert(received[#cases + 1] == "")
        assert(client:quit().code == "221")
    end)
    local conn = listener:accept()
    ratchet.smtp.server.new(conn, handlers):handle()
end)
kernel:loop()
assert(#received == #cases + 1)
