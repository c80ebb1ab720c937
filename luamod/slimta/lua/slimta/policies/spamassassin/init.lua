-- slimta.policies.spamassassin: scans messages with spamd (spec 2.33,
-- 3.10). scan(message) sets message.spammy and returns spammy, symbols.

require "ratchet"
slimta = slimta or require "slimta"
slimta.policies = slimta.policies or {}
local spamc = require "slimta.policies.spamassassin.spamc"

local spamassassin = {}
spamassassin.__index = spamassassin

-- Seconds allowed for connecting and for each read/write with spamd.
spamassassin.default_timeout = 30.0

function spamassassin.new(host, port, family)
    return setmetatable({host = host or "localhost", port = port or 783, family = family,
                         timeout = spamassassin.default_timeout}, spamassassin)
end

function spamassassin:set_timeout(seconds)
    self.timeout = seconds
end

function spamassassin:connect()
    local where = "[" .. tostring(self.host) .. "]:" .. tostring(self.port)
    local ok, rec = pcall(ratchet.socket.prepare_tcp, self.host, self.port, self.family)
    if not ok or not rec then
        error("Could not connect to spamd on " .. where .. "!", 0)
    end
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:set_timeout(self.timeout or -1)
    local connected = pcall(sock.connect, sock, rec.addr)
    if not connected then
        pcall(sock.close, sock)
        error("Could not connect to spamd on " .. where .. "!", 0)
    end
    return sock
end

function spamassassin:scan(message)
    local sock = self:connect()
    local ok, spammy, symbols = pcall(spamc.symbols, sock, tostring(message.contents))
    pcall(sock.close, sock)
    if not ok then
        error(spammy, 0)
    end
    message.spammy = spammy
    return spammy, symbols
end

slimta.policies.spamassassin = spamassassin
return spamassassin
