-- spec 2.11 example (fresh): a socket bus server with a request converter.
require "ratchet"
require "ratchet.bus"

PORT = tonumber(os.getenv("RATCHET_TEST_PORT")) or 10025

answer = nil

kernel = ratchet.new(function ()
    local rec = ratchet.socket.prepare_tcp("localhost", PORT)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:setsockopt("SO_REUSEADDR", true)
    listener:bind(rec.addr)
    listener:listen()

    ratchet.thread.attach(function ()
        local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        s:connect(rec.addr)
        local client = ratchet.bus.new_client(s, function (req)
            return req.cmd, {req.arg}
        end)
        answer = client:send_request({cmd = "launch", arg = "now"}):recv_response()
    end)

    local srv = ratchet.bus.new_server(listener, function (main, att) return {cmd = main, arg = att[1]} end)
    local tr, req = srv:recv_request()
    assert(req.arg == "now")
    tr:send_response("done " .. req.cmd)
end)
kernel:loop()
assert(answer == "done launch", tostring(answer))
