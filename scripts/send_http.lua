-- send_http.lua: posts one small test message to an HTTP edge
-- (corrected version of the original examples/send_http.lua).
--
--   slimta-lua scripts/send_http.lua SENDER RECIPIENT [HOST [PORT]]
--
-- POSTs to http://HOST:PORT/email (default localhost:8025, where
-- http_mta.lua listens) and prints "<code> <reason>". Exits 0 on a 2xx.
--
-- What changed from the original: the arguments are checked.

require "ratchet"
require "ratchet.http.client"

local sender, recipient = arg[1], arg[2]
local host, port = arg[3] or "localhost", tonumber(arg[4] or "8025")
if not sender or not recipient or not port then
    io.stderr:write("usage: send_http.lua SENDER RECIPIENT [HOST [PORT]]\n")
    os.exit(1)
end

local status = 1

local function main()
    local body = "From: " .. sender .. "\r\nTo: " .. recipient
        .. "\r\nSubject: slimta HTTP test\r\n\r\nThis message was posted over HTTP.\r\n"
    local rec = ratchet.socket.prepare_tcp(host, port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:set_timeout(30.0)
    sock:connect(rec.addr)
    local client = ratchet.http.client.new(sock)
    local code, reason = client:query("POST", "/email", {
        ["Content-Type"] = {"message/rfc822"},
        ["Content-Length"] = {#body},
        ["X-Sender"] = {sender},
        ["X-Recipient"] = {recipient},
        ["X-Ehlo"] = {"send_http"},
    }, body)
    if not code then
        print("no valid HTTP response")
        return
    end
    print(tostring(code) .. " " .. tostring(reason))
    if tonumber(code) and tonumber(code) >= 200 and tonumber(code) < 300 then
        status = 0
    end
end

ratchet.new(main, function (err)
    io.stderr:write("send_http.lua: ", tostring(err), "\n")
end):loop()
os.exit(status)
