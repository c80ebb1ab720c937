require "ratchet"
require "ratchet.http.server"
require "ratchet.http.client"

HTTP_PORT = tonumber(os.getenv("RATCHET_TEST_HTTP_PORT")) or 10080

counter = 0

function server_ctx(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:setsockopt("SO_REUSEADDR", true)
    socket:bind(rec.addr)
    socket:listen()

    ratchet.thread.attach(client_ctx, host, port)

    local client, from = socket:accept()

    local handlers = {}
    function handlers:GET(uri, headers, data, from)
        assert(uri == "/test/uri")
        assert(data == "command data")
        assert(#headers["x-command-header"] == 2)
        assert(headers["x-command-header"][1] == "Important Stuff")
        assert(headers["x-command-header"][2] == "Other Stuff")
        counter = counter + 1
        return {
            code = 250,
            message = "Testing",
            headers = {["X-Testing"] = {"check"}},
            data = "data!",
        }
    end

    local server = ratchet.http.server.new(client, from, handlers)
    server:handle()
    counter = counter + 1
end

function client_ctx(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port, "AF_INET")
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:connect(rec.addr)

    local client = ratchet.http.client.new(socket)
    local code, reason, headers, data = client:query("GET", "/test/uri", {
        ["X-Command-Header"] = {"Important Stuff", "Other Stuff"},
        ["Content-Length"] = {12},
    }, "command data")

    assert(code == 250)
    assert(reason == "Testing")
    assert(data == "data!")
    assert(#headers["x-testing"] == 1)
    assert(headers["x-testing"][1] == "check")
    assert(#headers["x-missing"] == 0)
    counter = counter + 1
end

kernel = ratchet.new(function ()
    ratchet.thread.attach(server_ctx, "localhost", HTTP_PORT)
end)
kernel:loop()
assert(counter == 3)
