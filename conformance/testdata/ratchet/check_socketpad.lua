-- spec 2.10: socketpad details.
require "ratchet"
require "ratchet.socketpad"

done = false
kernel = ratchet.new(function ()
    local a, b = ratchet.socket.new_pair()
    local pad = ratchet.socketpad.new(a, "peer-info")
    assert(pad.socket == a and pad.from == "peer-info")
    assert(type(pad.data) == "table" and pad.recv_buffer == "" and pad.send_buffer == "")

    local r1, r2 = pad:recv({})
    assert(r1 == nil and r2 == "Argument must be a number or string.")
    local ok, err = pcall(pad.send_behavior, pad, "sideways")
    assert(not ok and tostring(err):match("Unknown behavior type: sideways"), tostring(err))

    -- Buffered sends go out on flush or on the next send without more.
    pad:send("one ", true)
    pad:send("two ", true)
    assert(pad.send_buffer == "one two ")
    pad:flush()
    assert(b:recv() == "one two ")
    pad:send("three", true)
    pad:send(nil, true)
    assert(b:recv() == "three")

    -- always_flush (default true when given no flag) ignores "more".
    pad:send_behavior("always_flush")
    pad:send("now", true)
    assert(b:recv() == "now")
    pad:send_behavior("always_flush", false)

    -- chunk_size: never more than n bytes per socket send.
    local sends = {}
    local recording = setmetatable({}, {__index = function (t, k)
        if k == "send" then
            return function (self, data) table.insert(sends, data) end
        end
        return a[k]
    end})
    local cpad = ratchet.socketpad.new(recording)
    cpad:send_behavior("chunk_size", 4)
    cpad:send("abcdefghij", true)
    cpad:send("k")
    assert(table.concat(sends) == "abcdefghijk", table.concat(sends, "|"))
    for _, s in ipairs(sends) do assert(#s <= 4, s) end

    -- update_and_peek, recv_remaining, end of stream.
    b:send("partial")
    assert(pad:update_and_peek() == "partial")
    assert(pad:peek() == "partial")
    assert(pad:recv(3) == "par")
    assert(pad:recv_remaining() == "tial")
    assert(pad:peek() == "")
    b:send("abc")
    b:close()
    local data, eos = pad:recv(10)
    assert(data == "abc" and eos == true)
    data, eos = pad:update_and_peek()
    assert(data == "" and eos == true)
    data, eos = pad:recv("\n")
    assert(data == "" and eos == true)
    assert(pad:close() == true)
    done = true
end)
kernel:loop()
assert(done)
