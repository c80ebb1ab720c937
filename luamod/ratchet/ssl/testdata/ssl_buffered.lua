-- Defect 4.25: decrypted data left over by a short recv, and complete
-- records that arrived together, count as readable for multi_recv and
-- block_on even though the descriptor has nothing more.
require "ratchet"

local S = ratchet.socket
local done = 0
kernel = ratchet.new(function ()
    local server_ctx = ratchet.ssl.new()
    server_ctx:load_certs(CERT)
    local client_ctx = ratchet.ssl.new()
    local a, b = S.new_pair()
    local sent = false
    local peer = ratchet.thread.attach(function ()
        local enc = b:encrypt(server_ctx)
        enc:server_handshake()
        b:send("helloworld")          -- one record
        b:send("abc")                  -- two more records, sent together
        b:send("def")
        sent = true
        assert(b:recv() == "ok")
        assert(enc:shutdown())
        done = done + 1
    end)
    local enc = a:encrypt(client_ctx)
    enc:client_handshake()
    while not sent do ratchet.thread.timer(0.001) end
    assert(a:recv(5) == "hello")
    -- "world" is decrypted and buffered: ready at once.
    local data, from = S.multi_recv({a}, 0)
    assert(data == "world" and from == a, tostring(data))
    -- "abc" and "def" records are both already received.
    assert(a:recv() == "abc")
    assert(ratchet.thread.block_on({a}, nil, 0) == a)
    assert(S.multi_recv({a}, 0) == "def")
    -- nothing left: a zero timeout expires.
    assert(S.multi_recv({a}, 0) == nil)
    assert(ratchet.thread.block_on({a}, nil, 0) == false)
    a:send("ok")
    assert(enc:shutdown())
    ratchet.thread.wait_all({peer})
    done = done + 1
end)
kernel:loop()
assert(done == 2)
