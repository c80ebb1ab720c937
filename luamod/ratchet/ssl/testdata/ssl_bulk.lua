-- Large transfers both ways with small socket buffers: TLS writes that
-- must wait, reads of many records, concurrent reader and writer threads
-- on one session.
require "ratchet"

local S = ratchet.socket
local SIZE = 3 * 1024 * 1024
local done = 0
kernel = ratchet.new(function ()
    local server = ratchet.ssl.new(ratchet.ssl.TLSv1_server)
    server:load_certs(CERT)
    local client = ratchet.ssl.new(ratchet.ssl.TLSv1_client)
    local a, b = S.new_pair()
    a:setsockopt("SO_SNDBUF", 4096); b:setsockopt("SO_SNDBUF", 4096)
    a:setsockopt("SO_RCVBUF", 4096); b:setsockopt("SO_RCVBUF", 4096)
    local echo = ratchet.thread.attach(function ()
        local e = b:encrypt(server)
        e:server_handshake()
        local n = 0
        while n < SIZE do
            local d = b:recv(100000)
            assert(#d > 0)
            n = n + #d
            b:send(d)
        end
        done = done + 1
    end)
    local enc = a:encrypt(client)
    enc:client_handshake()
    local block = string.rep("0123456789abcdef", 4096)
    local writer = ratchet.thread.attach(function ()
        for i = 1, SIZE / #block do a:send(block) end
        done = done + 1
    end)
    local got, parts = 0, {}
    while got < SIZE do
        local d = a:recv()
        assert(#d > 0 and #d <= 8192)
        got = got + #d
        if #parts < 4 then parts[#parts + 1] = d end
    end
    assert(table.concat(parts):sub(1, 32) == block:sub(1, 32))
    ratchet.thread.wait_all({echo, writer})
    done = done + 1
end)
kernel:loop()
assert(done == 3)
