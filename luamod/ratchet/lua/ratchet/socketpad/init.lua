-- ratchet.socketpad: buffered receive and send on top of any object with
-- ratchet socket methods (socket:recv() / socket:send()), so it works over
-- TLS sessions too (spec ratchet.md 2.10).

require "ratchet"

local find, sub, concat = string.find, string.sub, table.concat
local type, pcall, error, setmetatable, tostring = type, pcall, error, setmetatable, tostring

local socketpad = {}
socketpad.__index = socketpad

-- new(socket [, from]) -> pad. "from" is a free value (the bus keeps the
-- peer address there); "data" is an empty table for the user.
function socketpad.new(socket, from)
    local self = {
        socket = socket,
        from = from,
        data = {},
        recv_buffer = "",
        send_buffer = "",
    }
    return setmetatable(self, socketpad)
end

-- One socket:recv() with the default size. nil means end of stream. On a
-- failure the data gathered so far goes back into the buffer before the
-- error is passed on, so a caller that catches a timeout loses nothing.
local function recv_chunk(self, parts)
    local sock = self.socket
    local ok, data = pcall(sock.recv, sock)
    if not ok then
        if parts then
            self.recv_buffer = concat(parts)
        end
        error(data, 0)
    end
    if data == nil or data == "" then
        return nil
    end
    return data
end

-- Receives until at least n bytes are buffered. Chunks are joined once,
-- not after every read, to stay linear for large n.
local function recv_count(self, n)
    if n <= 0 then
        return ""
    end
    local buf = self.recv_buffer
    if #buf < n then
        local parts, total = {buf}, #buf
        while total < n do
            local data = recv_chunk(self, parts)
            if not data then
                self.recv_buffer = ""
                return concat(parts), true
            end
            parts[#parts + 1] = data
            total = total + #data
        end
        buf = concat(parts)
    end
    self.recv_buffer = sub(buf, n + 1)
    return sub(buf, 1, n)
end

-- Receives until delim (plain text) occurs; only new data and the last
-- #delim-1 bytes before it are searched each time.
local function recv_delim(self, delim)
    local buf = self.recv_buffer
    local _, e = find(buf, delim, 1, true)
    if not e then
        local dl = #delim
        local parts, total = {buf}, #buf
        local tail = ""
        if dl > 1 then
            tail = sub(buf, -(dl - 1))
        end
        while not e do
            local data = recv_chunk(self, parts)
            if not data then
                self.recv_buffer = ""
                return concat(parts), true
            end
            parts[#parts + 1] = data
            local probe = tail .. data
            local _, pe = find(probe, delim, 1, true)
            if pe then
                e = total - #tail + pe
            else
                total = total + #data
                tail = dl > 1 and sub(probe, -(dl - 1)) or ""
            end
        end
        buf = concat(parts)
    end
    self.recv_buffer = sub(buf, e + 1)
    return sub(buf, 1, e)
end

-- recv(n) returns exactly n bytes; recv(delim) everything up to and
-- including the first delim. At end of stream: what was buffered, true.
function socketpad:recv(what)
    local t = type(what)
    if t == "number" then
        return recv_count(self, what)
    elseif t == "string" then
        if what == "" then
            return ""
        end
        return recv_delim(self, what)
    end
    return nil, "Argument must be a number or string."
end

-- Returns and empties the buffer (no I/O).
function socketpad:recv_remaining()
    local buf = self.recv_buffer
    self.recv_buffer = ""
    return buf
end

-- Returns the buffer unchanged.
function socketpad:peek()
    return self.recv_buffer
end

-- One receive, then the whole buffer (plus true at end of stream).
function socketpad:update_and_peek()
    local data = recv_chunk(self)
    if not data then
        return self.recv_buffer, true
    end
    self.recv_buffer = self.recv_buffer .. data
    return self.recv_buffer
end

-- Sends all of data, looping on partial sends.
local function send_all(sock, data)
    local rest = data
    repeat
        rest = sock:send(rest)
    until rest == nil or rest == ""
end

-- Sends the whole send buffer, in pieces of at most chunk_size bytes when
-- one is set. Unsent data stays buffered if a send fails.
function socketpad:flush()
    local buf = self.send_buffer
    if buf == "" then
        return
    end
    local cs = self.chunk_size
    if not cs or #buf <= cs then
        send_all(self.socket, buf)
        self.send_buffer = ""
        return
    end
    local pos = 1
    while pos <= #buf do
        self.send_buffer = sub(buf, pos)
        send_all(self.socket, sub(buf, pos, pos + cs - 1))
        pos = pos + cs
    end
    self.send_buffer = ""
end

-- send(data [, more]): buffers data and flushes unless more is true (or
-- always_flush is set). With a chunk size, whole chunks go out as soon as
-- the buffer holds more than one, whatever its size already was (the fix
-- of defect 4.16). An empty or nil data just flushes.
function socketpad:send(data, more)
    if data == nil or data == "" then
        return self:flush()
    end
    local buf = self.send_buffer .. data
    local cs = self.chunk_size
    if cs and #buf > cs then
        local pos = 1
        while #buf - pos + 1 > cs do
            self.send_buffer = sub(buf, pos)
            send_all(self.socket, sub(buf, pos, pos + cs - 1))
            pos = pos + cs
        end
        buf = sub(buf, pos)
    end
    self.send_buffer = buf
    if not more or self.always_flush then
        return self:flush()
    end
end

-- send_behavior("chunk_size", n) / send_behavior("always_flush" [, bool]).
function socketpad:send_behavior(kind, ...)
    if kind == "chunk_size" then
        local n = ...
        if n ~= nil and (type(n) ~= "number" or n < 1) then
            error("chunk_size must be a positive number.", 2)
        end
        self.chunk_size = n and math.floor(n)
    elseif kind == "always_flush" then
        local flag = select("#", ...) == 0 or (...)
        self.always_flush = flag and true or false
    else
        error("Unknown behavior type: " .. tostring(kind), 2)
    end
end

function socketpad:close()
    return self.socket:close()
end

ratchet.socketpad = socketpad
return socketpad
