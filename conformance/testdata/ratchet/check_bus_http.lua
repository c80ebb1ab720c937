-- spec 2.11, 2.12 and defects 4.17/4.18: bus and HTTP behaviour.
require "ratchet"
require "ratchet.bus"
require "ratchet.http.server"
require "ratchet.http.client"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

local function listen()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local l = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    l:setsockopt("SO_REUSEADDR", true)
    l:bind(rec.addr)
    l:listen()
    return l, rec
end

local function connect(rec)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    return s
end

-- Local bus: returns the same object twice; extra arguments are ignored.
local b1, b2 = ratchet.bus.new_local("ignored", 42)
assert(b1 == b2)

-- Wire format of a request with one attachment.
wire = nil
kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        local client = ratchet.bus.new_client(connect(rec), function (req) return "abc", {"Z"} end)
        local t = client:send_request("anything")
        assert(t:recv_response() == "ok")
    end)
    local conn = l:accept()
    local data = ""
    while #data < 14 do data = data .. conn:recv() end
    wire = data
    conn:send("\0\1\0\0\0\2ok")
    conn:close()
    l:close()
end)
kernel:loop()
assert(wire == "\0\2\0\0\0\3abc\0\0\0\1Z", ("%q"):format(wire))

-- A server keeps serving when a client closes without a request, and a
-- client whose server closes early gets nothing back (no error).
served = {}
kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        connect(rec):close()
        local half = connect(rec)
        half:send("\0\1\0\0")
        half:close()
        local client = ratchet.bus.new_client(connect(rec))
        local t = client:send_request("real request")
        assert(t:recv_response() == "real response")
    end)
    local server = ratchet.bus.new_server(l)
    local t, req = server:recv_request()
    table.insert(served, req)
    t:send_response("real response")

    ratchet.thread.attach(function ()
        local client = ratchet.bus.new_client(connect(rec))
        local t = client:send_request("dropped")
        assert(select("#", t:recv_response()) == 0 or t:recv_response() == nil)
    end)
    local conn = l:accept()
    conn:recv()
    conn:close()
    l:close()
end)
kernel:loop()
assert(#served == 1 and served[1] == "real request", tostring(served[1]))

-- HTTP: headers lower-cased, missing headers are empty tables, 501 without
-- a handler, malformed request line raises.
results = {}
kernel = ratchet.new(function ()
    local l, rec = listen()
    ratchet.thread.attach(function ()
        local s = connect(rec)
        s:send("GET /x HTTP/1.0\r\nHost: a\r\n\r\n")
        s:shutdown("write")
        local data = ""
        repeat local chunk = s:recv(); data = data .. chunk until chunk == ""
        results.v11 = data

        s = connect(rec)
        s:send("garbage\r\n\r\n")
        s:shutdown("write")
        repeat local chunk = s:recv() until chunk == ""

        local client = ratchet.http.client.new(connect(rec))
        local code, reason, headers, body = client:query("post", "/p", {["X-Num"] = {1, 2}}, "body!")
        results.code, results.reason, results.headers, results.body = code, reason, headers, body
    end)
    local handlers = {}
    function handlers:POST(uri, headers, body, from)
        assert(uri == "/p" and body == "body!", tostring(body))
        assert(headers["X-NUM"][1] == "1" and headers["x-num"][2] == "2")
        assert(type(headers["X-Missing"]) == "table" and #headers["x-missing"] == 0)
        assert(tostring(from) == "127.0.0.1")
        return {code = 201, message = "Created", headers = {["Set-Thing"] = {"a", "b"}}}
    end
    local conn, from = l:accept()
    ratchet.http.server.new(conn, from, {}):handle()
    conn, from = l:accept()
    local ok, err = pcall(ratchet.http.server.new(conn, from, handlers).handle, ratchet.http.server.new(conn, from, handlers))
    assert(not ok and tostring(err):match("Malformed HTTP session%."), tostring(err))
    conn:close()
    conn, from = l:accept()
    ratchet.http.server.new(conn, from, handlers)()
    l:close()
end)
kernel:loop()
assert(results.v11:match("^HTTP/1%.0 501 Not Implemented\r\n"), results.v11)
assert(results.code == 201 and results.reason == "Created")
assert(#results.headers["set-thing"] == 2)
assert(results.body == "")
