-- spec 2.12 step 2-3: a request whose version is not "1.0" gets the default
-- 505 "Version Not Supported" unless a handler for its method answers.
require "ratchet"
require "ratchet.http.server"

PORT = tonumber(os.getenv("RATCHET_TEST_HTTP_PORT")) or 10080

replies = {}
kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    l:setsockopt("SO_REUSEADDR", true)
    l:bind(rec.addr)
    l:listen()
    ratchet.thread.attach(function ()
        for _, req in ipairs({"PUT /x HTTP/1.1\r\n\r\n", "GET /x HTTP/1.1\r\n\r\n"}) do
            local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
            s:connect(rec.addr)
            s:send(req)
            s:shutdown("write")
            local data = ""
            repeat local chunk = s:recv(); data = data .. chunk until chunk == ""
            table.insert(replies, data)
            s:close()
        end
    end)
    local handlers = {}
    function handlers:GET(uri, headers, body, from)
        return {code = 200, message = "OK", data = "x"}
    end
    for i = 1, 2 do
        local conn, from = l:accept()
        ratchet.http.server.new(conn, from, handlers):handle()
    end
end)
kernel:loop()
assert(replies[1]:match("^HTTP/1%.0 505 Version Not Supported\r\n"), replies[1])
assert(replies[2]:match("^HTTP/1%.0 200 OK\r\n"), replies[2])
