-- examples/send_http.lua, as the original shipped it (spec 5): posts a
-- small message from arg[1] to arg[2] to the HTTP edge on localhost:8025.
require "ratchet"
require "ratchet.http.client"

local sender, recipient = arg[1], arg[2]

local data = "From: " .. sender .. "\r\nTo: " .. recipient .. "\r\nSubject: test message\r\n\r\nThis is a test message.\r\n"

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", 8025)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local client = ratchet.http.client.new(socket)
    local code, reason, headers, body = client:query("POST", "/email", {
        ["X-Sender"] = {sender},
        ["X-Recipient"] = {recipient},
        ["X-Ehlo"] = {"send_http"},
        ["Content-Type"] = {"message/rfc822"},
        ["Content-Length"] = {#data},
    }, data)

    print(code .. " " .. reason)
end)
kernel:loop()

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
