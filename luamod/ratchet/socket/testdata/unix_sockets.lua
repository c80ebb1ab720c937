-- test_unix_sockets: SOCK_PATH is a path in a temporary directory; bind
-- replaces a stale socket file.
require "ratchet"

local count = 0
local function run()
    kernel = ratchet.new(function ()
        local rec = ratchet.socket.prepare_unix(SOCK_PATH)
        assert(rec.family == 1 and rec.host == nil)
        assert(tostring(rec.addr) == SOCK_PATH)
        local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        socket:setsockopt("SO_REUSEADDR", true)
        socket:bind(rec.addr)
        socket:listen()
        ratchet.thread.attach(function ()
            local c = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
            c:connect(rec.addr)
            c:send("hello")
            assert(c:recv(5) == "world")
            assert(c:recv() == "foo")
            c:send("bar")
            c:close()
            count = count + 1
        end)
        local client = socket:accept()
        assert(client:recv(5) == "hello")
        client:send("world")
        client:send("foo")
        assert(client:recv() == "bar")
        client:close()
        socket:close() -- leaves the socket file behind
        count = count + 1
    end)
    kernel:loop()
end
run()
run() -- the stale socket file is replaced
assert(count == 4)
