-- HTTP server for the Go tests (curl): echoes what it received.
require "ratchet"
require "ratchet.http.server"

local handlers = {}
function handlers:POST(uri, headers, body, from)
    return {code = 200, message = "OK", headers = {["Content-Type"] = {"text/plain"},
        ["X-Uri"] = {uri}, ["X-Length"] = {#(body or "")}}, data = body}
end
function handlers:GET(uri, headers, body, from)
    return {code = 200, message = "OK\r\nInjected: yes", headers = {["X-Uri"] = {uri}}, data = "hello " .. uri}
end

ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()
    while true do
        local conn, from = listener:accept()
        local srv = ratchet.http.server.new(conn, from, handlers)
        srv.max_body = 1024 * 1024
        ratchet.thread.attach(srv)
    end
end, function (err) io.stderr:write("serve.lua: ", tostring(err), "\n") end):loop()
