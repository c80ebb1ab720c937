-- socketpad on a scripted fake socket: exact control over chunking.
require "ratchet"
local socketpad = require "ratchet.socketpad"
assert(socketpad == ratchet.socketpad)

-- fake(chunks): recv() hands out the chunks in order, then "" (closed);
-- send() records each call and may accept only part of it.
local function fake(chunks, accept)
    local s = {incoming = chunks, sent = {}, closed = false}
    function s:recv()
        local c = table.remove(self.incoming, 1)
        if c == nil then return "" end
        if type(c) == "table" then error(c) end
        return c
    end
    function s:send(data)
        assert(type(data) == "string" and #data > 0, "empty send")
        local n = accept and math.min(accept, #data) or #data
        self.sent[#self.sent + 1] = data:sub(1, n)
        if n < #data then return data:sub(n + 1) end
    end
    function s:close() self.closed = true; return true end
    return s
end

-- Fields.
local s = fake({})
local pad = socketpad.new(s, "peer")
assert(pad.socket == s and pad.from == "peer" and type(pad.data) == "table")
assert(pad.recv_buffer == "" and pad.send_buffer == "")

-- recv(n) across many chunks, rest kept.
pad = socketpad.new(fake({"ab", "cd", "efg", "hij"}))
assert(pad:recv(5) == "abcde")
assert(pad:peek() == "fg")
assert(pad:recv(0) == "")
local d, inc = pad:recv(10)
assert(d == "fghij" and inc == true)
assert(pad:peek() == "")

-- recv(delim): delimiter split across chunks, plain (not a pattern).
pad = socketpad.new(fake({"one.*", "*two\r", "\nthree"}))
assert(pad:recv(".**") == "one.**")
assert(pad:recv("\r\n") == "two\r\n")
assert(pad:peek() == "three")
d, inc = pad:recv("\r\n")
assert(d == "three" and inc == true)
assert(select(2, pad:recv({})) == "Argument must be a number or string.")
assert(pad:recv({}) == nil)

-- update_and_peek, recv_remaining.
pad = socketpad.new(fake({"xy", "z"}))
assert(pad:update_and_peek() == "xy")
assert(pad:update_and_peek() == "xyz")
local buf, eof = pad:update_and_peek()
assert(buf == "xyz" and eof == true)
assert(pad:recv_remaining() == "xyz" and pad:peek() == "")

-- A failing recv keeps what was gathered; the error object passes through.
local boom = {code = "ETIMEDOUT"}
pad = socketpad.new(fake({"par", "tial", boom, "\n"}))
local ok, err = pcall(pad.recv, pad, "\n")
assert(not ok and err == boom)
assert(pad:peek() == "partial")
assert(pad:recv("\n") == "partial\n")

-- send buffering and flushing.
s = fake({})
pad = socketpad.new(s)
pad:send("a", true)
pad:send("b", true)
assert(#s.sent == 0 and pad.send_buffer == "ab")
pad:send("c")
assert(#s.sent == 1 and s.sent[1] == "abc" and pad.send_buffer == "")
pad:send("d", true)
pad:send(nil, true)          -- just flushes
assert(s.sent[2] == "d")
pad:send("e", true)
pad:flush()
assert(s.sent[3] == "e")

-- Partial sends are retried until everything went out.
s = fake({}, 3)
pad = socketpad.new(s)
pad:send("0123456789")
assert(table.concat(s.sent) == "0123456789" and #s.sent == 4)

-- always_flush.
s = fake({})
pad = socketpad.new(s)
pad:send_behavior("always_flush")
pad:send("x", true)
assert(s.sent[1] == "x")
pad:send_behavior("always_flush", false)
pad:send("y", true)
assert(#s.sent == 1)

-- chunk_size: pieces of at most n, also when the buffer is already larger
-- than n (defect 4.16).
s = fake({})
pad = socketpad.new(s)
pad:send(string.rep("a", 25), true)   -- buffered before any chunk size
pad:send_behavior("chunk_size", 10)
pad:send("bbbbb", true)
assert(#s.sent == 2 and s.sent[1] == string.rep("a", 10) and s.sent[2] == string.rep("a", 10))
assert(pad.send_buffer == "aaaaabbbbb")   -- exactly n: may stay buffered
pad:send("cc", true)
assert(#s.sent == 3 and s.sent[3] == "aaaaabbbbb" and pad.send_buffer == "cc")
pad:send(string.rep("d", 12))
for i, piece in ipairs(s.sent) do assert(#piece <= 10, "piece " .. i .. " too long") end
local all = table.concat(s.sent)
assert(all == string.rep("a", 25) .. "bbbbb" .. "cc" .. string.rep("d", 12))

ok, err = pcall(pad.send_behavior, pad, "sideways")
assert(not ok and err:find("Unknown behavior type: sideways", 1, true), err)

assert(pad:close() == true and s.closed)

-- Large transfers stay linear: 4 MiB in 8 KiB chunks.
local chunks = {}
for i = 1, 512 do chunks[i] = string.rep(string.char(65 + i % 26), 8192) end
pad = socketpad.new(fake(chunks))
local big = pad:recv(512 * 8192)
assert(#big == 512 * 8192)
