-- ratchet.bus.frame: the socket bus wire format (spec ratchet.md 2.11).
-- A message is N (uint16, big-endian) followed by N parts, each a uint32
-- big-endian length and that many bytes. The parser is incremental: feed
-- it received chunks in any split.

local byte, sub, char, floor, concat = string.byte, string.sub, string.char, math.floor, table.concat

local frame = {}
frame.__index = frame

-- Largest total of part lengths accepted from a peer.
frame.max_size = 512 * 1024 * 1024

function frame.new(max_size)
    return setmetatable({
        state = "count", hdr = "", parts = {}, nparts = nil,
        chunks = nil, need = 0, got = 0, total = 0,
        max_size = max_size or frame.max_size,
    }, frame)
end

local function be(s)
    local v = 0
    for i = 1, #s do
        v = v * 256 + byte(s, i)
    end
    return v
end

local function part_done(self, data)
    local parts = self.parts
    parts[#parts + 1] = data
    if #parts == self.nparts then
        self.state = "done"
    else
        self.state = "len"
    end
end

-- feed(data) -> true once the message is complete, false while more is
-- needed, nil plus a message when the peer sent an oversized message.
-- The number of bytes of data used is in self.used (the rest belongs to
-- nobody: one message per connection).
function frame:feed(data)
    local i, n = 1, #data
    while self.state ~= "done" and self.state ~= "error" do
        if self.state == "body" then
            if self.need == 0 then
                part_done(self, "")
            else
                if i > n then break end
                local take = self.need - self.got
                if take > n - i + 1 then take = n - i + 1 end
                if i == 1 and take == n then
                    self.chunks[#self.chunks + 1] = data
                else
                    self.chunks[#self.chunks + 1] = sub(data, i, i + take - 1)
                end
                i = i + take
                self.got = self.got + take
                if self.got == self.need then
                    local chunks = self.chunks
                    self.chunks = nil
                    part_done(self, #chunks == 1 and chunks[1] or concat(chunks))
                end
            end
        else
            if i > n then break end
            local want = self.state == "count" and 2 or 4
            local take = want - #self.hdr
            if take > n - i + 1 then take = n - i + 1 end
            self.hdr = self.hdr .. sub(data, i, i + take - 1)
            i = i + take
            if #self.hdr == want then
                local v = be(self.hdr)
                self.hdr = ""
                if self.state == "count" then
                    self.nparts = v
                    self.state = v == 0 and "done" or "len"
                else
                    self.total = self.total + v
                    if self.total > self.max_size then
                        self.state = "error"
                        self.used = i - 1
                        return nil, "message exceeds " .. self.max_size .. " bytes"
                    end
                    self.need, self.got, self.chunks = v, 0, {}
                    self.state = "body"
                end
            end
        end
    end
    self.used = i - 1
    if self.state == "error" then
        return nil, "message exceeds " .. self.max_size .. " bytes"
    end
    return self.state == "done"
end

-- started() is true once any byte of the message arrived.
function frame:started()
    return self.nparts ~= nil or #self.hdr > 0
end

local function u32(n)
    return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
end

-- encode(main, attachments) -> array of strings to send in order (the
-- parts themselves are not copied).
function frame.encode(main, attachments)
    main = tostring(main or "")
    attachments = attachments or {}
    local n = 1 + #attachments
    if n > 65535 then
        error("ratchet.bus: too many attachments (" .. #attachments .. ")")
    end
    local out = {char(floor(n / 256), n % 256) .. u32(#main), main}
    for _, a in ipairs(attachments) do
        a = tostring(a)
        out[#out + 1] = u32(#a)
        out[#out + 1] = a
    end
    return out
end

-- Sends the pieces of an encoded message on a socket.
function frame.send(socket, pieces)
    local buf, size = {}, 0
    local function flush()
        if size > 0 then
            local rest = concat(buf)
            repeat rest = socket:send(rest) until not rest
            buf, size = {}, 0
        end
    end
    for _, p in ipairs(pieces) do
        if #p >= 65536 then
            flush()
            local rest = p
            repeat rest = socket:send(rest) until not rest
        else
            buf[#buf + 1] = p
            size = size + #p
        end
    end
    flush()
end

-- The main part and the attachments of a complete message.
function frame:result()
    local parts = self.parts
    local attachments = {}
    for i = 2, #parts do
        attachments[i - 1] = parts[i]
    end
    return parts[1] or "", attachments
end

return frame
