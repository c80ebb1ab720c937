-- test_http_get: ratchet.http client and server on one loopback port.
require "ratchet"
require "ratchet.http.client"
require "ratchet.http.server"

local done = 0
local handlers = {}

function handlers:GET(uri, headers, data, from)
    assert(uri == "/test/uri", uri)
    assert(data == "command data", tostring(data))
    assert(#headers["x-command-header"] == 2)
    assert(headers["x-command-header"][1] == "one")
    assert(headers["x-command-header"][2] == "two")
    assert(headers["X-Command-Header"][2] == "two")
    assert(tostring(from) == "127.0.0.1")
    return {
        code = 250,
        message = "Testing",
        headers = {["X-Testing"] = {"check"}},
        data = "data!",
    }
end

function server_ctx(socket)
    local client, from = socket:accept()
    local server = ratchet.http.server.new(client, from, handlers)
    server:handle()
    done = done + 1
end

function client_ctx(rec)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)
    local client = ratchet.http.client.new(socket)
    local code, reason, headers, data = client:query("get", "/test/uri", {
        ["X-Command-Header"] = {"one", "two"},
        ["Content-Length"] = {12},
    }, "command data")
    assert(code == 250, tostring(code))
    assert(reason == "Testing")
    assert(data == "data!")
    assert(#headers["x-testing"] == 1 and headers["x-testing"][1] == "check")
    assert(#headers["x-missing"] == 0)
    done = done + 1
end

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()
    ratchet.thread.attach(client_ctx, rec)
    server_ctx(socket)
end)
kernel:loop()
assert(done == 2)
