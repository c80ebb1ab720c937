-- slimta.edge.relay_policy: the default anti-relay rule of the edges (see
-- POLICY.md next to this file). A recipient is accepted when the client
-- authenticated, or its address is in a trusted network (loopback by
-- default), or the recipient's domain is a local domain. Everything else is
-- refused, so an edge nobody configured is not an open relay.

slimta = slimta or require "slimta"
slimta.edge = slimta.edge or {}

local policy = {}
policy.__index = policy

policy.default_networks = {"127.0.0.0/8", "::1/128"}

-- parse_ip(text) -> array of 16 bytes (IPv4 as ::ffff:a.b.c.d), or nil.
local function parse_v4(s)
    local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if not a then
        return nil
    end
    local out = {}
    for i, p in ipairs({a, b, c, d}) do
        local n = tonumber(p)
        if #p > 3 or n > 255 then
            return nil
        end
        out[i] = n
    end
    return out
end

local function parse_ip(s)
    if type(s) ~= "string" then
        s = tostring(s)
    end
    s = s:gsub("%%.*$", ""):gsub("^%[(.*)%]$", "%1")
    local v4 = parse_v4(s)
    if v4 then
        return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, v4[1], v4[2], v4[3], v4[4]}
    end
    if not s:find(":", 1, true) then
        return nil
    end
    -- embedded IPv4 tail (::ffff:1.2.3.4)
    local tail = {}
    local head4, last4 = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$")
    if head4 then
        local t = parse_v4(last4)
        if not t then
            return nil
        end
        s = head4 .. string.format("%x:%x", t[1] * 256 + t[2], t[3] * 256 + t[4])
    end
    local left, right = s, nil
    local dc = s:find("::", 1, true)
    if dc then
        left, right = s:sub(1, dc - 1), s:sub(dc + 2)
        if right:find("::", 1, true) then
            return nil
        end
    end
    local function groups(part)
        local g = {}
        if part == "" then
            return g
        end
        for piece in (part .. ":"):gmatch("([^:]*):") do
            if not piece:match("^%x%x?%x?%x?$") then
                return nil
            end
            g[#g + 1] = tonumber(piece, 16)
        end
        return g
    end
    local lg, rg = groups(left), groups(right or "")
    if not lg or not rg then
        return nil
    end
    local words = {}
    if right then
        if #lg + #rg > 7 then
            return nil
        end
        for _, w in ipairs(lg) do words[#words + 1] = w end
        for _ = 1, 8 - #lg - #rg do words[#words + 1] = 0 end
        for _, w in ipairs(rg) do words[#words + 1] = w end
    else
        if #lg ~= 8 then
            return nil
        end
        words = lg
    end
    for _, w in ipairs(words) do
        tail[#tail + 1] = math.floor(w / 256)
        tail[#tail + 1] = w % 256
    end
    return tail
end
policy.parse_ip = parse_ip

-- parse_network("10.0.0.0/8") -> {bytes, prefix_bits}; raises on bad input.
local function parse_network(cidr)
    local addr, bits = tostring(cidr):match("^([^/]+)/(%d+)$")
    addr = addr or tostring(cidr)
    local ip = parse_ip(addr)
    if not ip then
        error("invalid network: " .. tostring(cidr), 3)
    end
    local v4 = parse_v4(addr) ~= nil
    local n = tonumber(bits) or (v4 and 32 or 128)
    if (v4 and n > 32) or n > 128 then
        error("invalid prefix length: " .. tostring(cidr), 3)
    end
    if v4 then
        n = n + 96
    end
    return {ip, n}
end

local function in_network(ip, net)
    local bytes, bits = net[1], net[2]
    local i = 1
    while bits >= 8 do
        if ip[i] ~= bytes[i] then
            return false
        end
        i, bits = i + 1, bits - 8
    end
    if bits > 0 then
        local div = 2 ^ (8 - bits)
        return math.floor(ip[i] / div) == math.floor(bytes[i] / div)
    end
    return true
end

function policy.new()
    local self = setmetatable({open = false, domains = {}}, policy)
    self:set_trusted_networks(policy.default_networks)
    return self
end

-- set_trusted_networks(list): clients in these networks (CIDR text, or a
-- bare address) may relay to any recipient. An empty list trusts nobody.
function policy:set_trusted_networks(list)
    local nets = {}
    for i, cidr in ipairs(list or {}) do
        nets[i] = parse_network(cidr)
    end
    self.networks = nets
    self.cache, self.cached = {}, 0
end

-- set_local_domains(list): recipient domains accepted from any client.
function policy:set_local_domains(list)
    local d = {}
    for _, name in ipairs(list or {}) do
        d[tostring(name):lower()] = true
    end
    self.domains = d
end

-- set_open_relay(true) disables the check altogether (explicit opt-in).
function policy:set_open_relay(open)
    self.open = not not open
end

local function lookup(networks, ip)
    local addr = parse_ip(ip)
    if not addr then
        return false
    end
    for _, net in ipairs(networks) do
        if in_network(addr, net) then
            return true
        end
    end
    return false
end

-- trusted(ip): answers are cached per address text, because parsing an
-- address with Lua patterns costs more than the rest of a short SMTP
-- session's policy work (the cache is bounded and reset on changes).
local CACHE_MAX = 4096

function policy:trusted(ip)
    ip = tostring(ip or "")
    local cache = self.cache
    local hit = cache[ip]
    if hit ~= nil then
        return hit
    end
    hit = lookup(self.networks, ip)
    if self.cached >= CACHE_MAX then
        cache = {}
        self.cache, self.cached = cache, 0
    end
    cache[ip] = hit
    self.cached = self.cached + 1
    return hit
end

function policy:local_recipient(address)
    local domain = tostring(address or ""):match("@([^@]+)$")
    if not domain then
        return false
    end
    domain = domain:gsub("%.$", ""):lower()
    return self.domains[domain] == true
end

-- allows(ip, authenticated, recipient) -> boolean
function policy:allows(ip, authenticated, recipient)
    if self.open or authenticated then
        return true
    end
    return self:trusted(ip) or self:local_recipient(recipient)
end

slimta.edge.relay_policy = policy
return policy
