-- spec 2.12 example (fresh): the GET handler, attached as a server object.
require "ratchet"
require "ratchet.http.server"
require "ratchet.http.client"

PORT = tonumber(os.getenv("RATCHET_TEST_HTTP_PORT")) or 10080

result = nil

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()

    ratchet.thread.attach(function ()
        local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        s:connect(rec.addr)
        local code, reason, headers, body = ratchet.http.client.new(s):query("get", "/there")
        result = {code = code, reason = reason, ctype = headers["content-type"][1], body = body}
    end)

    local handlers = {}
    function handlers:GET(uri, headers, body, from)
        return {code = 200, message = "OK",
                headers = {["Content-Type"] = {"text/plain"}}, data = "hi " .. uri}
    end
    local client, from = listener:accept()
    local t = ratchet.thread.attach(ratchet.http.server.new(client, from, handlers))
    ratchet.thread.wait_all({t})
end)
kernel:loop()
assert(result.code == 200)
assert(result.reason == "OK")
assert(result.ctype == "text/plain")
assert(result.body == "hi /there")
