-- A minimal RESP client on a ratchet socket, to look at what the storage
-- engine wrote (spec 3.4) independently of the engine itself.
require "ratchet"

redis_check = {}
redis_check.__index = redis_check

function redis_check.new(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port)
    local socket = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    socket:set_timeout(2.0)
    socket:connect(rec.addr)
    return setmetatable({socket = socket, buffer = ""}, redis_check)
end

function redis_check:line()
    while true do
        local i = self.buffer:find("\r\n", 1, true)
        if i then
            local line = self.buffer:sub(1, i - 1)
            self.buffer = self.buffer:sub(i + 2)
            return line
        end
        local data = self.socket:recv()
        assert(data ~= "", "redis connection closed")
        self.buffer = self.buffer .. data
    end
end

function redis_check:bytes(n)
    while #self.buffer < n + 2 do
        local data = self.socket:recv()
        assert(data ~= "", "redis connection closed")
        self.buffer = self.buffer .. data
    end
    local ret = self.buffer:sub(1, n)
    self.buffer = self.buffer:sub(n + 3)
    return ret
end

function redis_check:reply()
    local line = self:line()
    local kind, rest = line:sub(1, 1), line:sub(2)
    if kind == "+" then
        return rest
    elseif kind == "-" then
        return nil, rest
    elseif kind == ":" then
        return tonumber(rest)
    elseif kind == "$" then
        local n = tonumber(rest)
        if n < 0 then
            return nil
        end
        return self:bytes(n)
    elseif kind == "*" then
        local n = tonumber(rest)
        if n < 0 then
            return nil
        end
        local ret = {}
        for i = 1, n do
            ret[i] = self:reply()
        end
        return ret
    end
    error("bad redis reply: " .. line)
end

function redis_check:call(...)
    local args = {...}
    local out = {"*" .. #args .. "\r\n"}
    for _, a in ipairs(args) do
        a = tostring(a)
        table.insert(out, "$" .. #a .. "\r\n" .. a .. "\r\n")
    end
    local data = table.concat(out)
    repeat
        data = self.socket:send(data)
    until not data
    return self:reply()
end

function redis_check:close()
    self.socket:close()
end

return redis_check
