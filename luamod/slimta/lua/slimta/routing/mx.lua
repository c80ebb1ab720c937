-- slimta.routing.mx: routes each recipient domain to its mail exchanger.
-- Like the original, require "slimta.routing.mx" returns nothing; use the
-- global slimta.routing.mx. It needs slimta.message (for copy) and
-- ratchet.dns, loaded by the caller or here.

require "ratchet"
slimta = slimta or require "slimta"
slimta.routing = slimta.routing or {}
slimta.routing.mx = slimta.routing.mx or {}
local mx = slimta.routing.mx
mx.__index = mx

local function default_pick_mx(message)
    return (message.attempts or 0) + 1
end

local function default_pick_relayer()
    return "SMTP"
end

local function default_pick_port()
    return 25
end

-- pick_mx(message) -> n: which exchanger (1 = best preference; wraps);
-- pick_relayer(message, domain), pick_port(message, domain).
function mx.new(pick_mx, pick_relayer, pick_port)
    local self = {
        pick_mx = pick_mx or default_pick_mx,
        pick_relayer = pick_relayer or default_pick_relayer,
        pick_port = pick_port or default_pick_port,
        forced_mx = {},
    }
    return setmetatable(self, mx)
end

-- Forced exchangers for a (lower-case) domain: a host name or an array.
function mx:set_mx(domain, hosts)
    if type(hosts) ~= "table" then
        hosts = {hosts}
    end
    self.forced_mx[domain] = hosts
end

-- Optional resolver configuration passed to ratchet.dns.query (objects
-- from ratchet.dns.resolv_conf.new / ratchet.dns.hosts.new) and a time
-- limit in seconds.
function mx:set_resolver(resolv_conf, hosts, expire)
    self.resolv_conf, self.hosts, self.expire = resolv_conf, hosts, expire
end

local function wrap(n, count)
    return ((math.floor(n) - 1) % count) + 1
end

-- Exchangers of a domain in preference order (answer order within one
-- preference), without trailing dots; nil when there is no usable MX
-- answer. A null MX (RFC 7505: a single "." exchanger) gives an empty list.
function mx:lookup(domain)
    require "ratchet.dns"
    local ok, result = pcall(ratchet.dns.query, domain, "mx", self.resolv_conf, self.hosts, self.expire)
    if not ok or type(result) ~= "table" then
        return nil
    end
    local list = {}
    local prefs = result.priorities or {}
    for _, pref in ipairs(prefs) do
        for _, host in ipairs(result[pref] or {}) do
            list[#list + 1] = (tostring(host):gsub("%.$", ""))
        end
    end
    if #list == 1 and list[1] == "" then
        return {}
    end
    if #list == 0 then
        return nil
    end
    return list
end

-- Destination host for one domain, or nil for a domain that accepts no
-- mail (null MX).
function mx:pick_host(message, domain)
    local n = self.pick_mx(message) or 1
    local forced = self.forced_mx[domain]
    if forced and forced[1] then
        -- The original indexed hosts[n % #hosts] (off by one, §6 #45).
        return forced[wrap(n, #forced)]
    end
    local list = self:lookup(domain)
    if list == nil then
        -- No MX: the domain's own address records (RFC 5321 §5.1).
        return domain
    elseif list[1] == nil then
        return nil
    end
    return list[wrap(n, #list)]
end

-- Returns new_messages (one copy per recipient domain, original order of
-- recipients kept; copies keep the original id) and, when some recipients
-- had no domain, the original message holding just those.
function mx:route(message)
    local env = message.envelope
    local by_domain, domains, unroutable = {}, {}, {}
    for _, rcpt in ipairs(env.recipients or {}) do
        local domain = tostring(rcpt):match("^.*@(.+)$")
        if domain then
            domain = domain:lower()
            local list = by_domain[domain]
            if not list then
                list = {}
                by_domain[domain] = list
                domains[#domains + 1] = domain
            end
            list[#list + 1] = rcpt
        else
            unroutable[#unroutable + 1] = rcpt
        end
    end
    local new_messages = {}
    for _, domain in ipairs(domains) do
        local copy = slimta.message.copy(message)
        local cenv = copy.envelope
        cenv.recipients = by_domain[domain]
        cenv.dest_host = self:pick_host(copy, domain)
        cenv.dest_relayer = self.pick_relayer(copy, domain)
        cenv.dest_port = self.pick_port(copy, domain)
        new_messages[#new_messages + 1] = copy
    end
    if unroutable[1] then
        env.recipients = unroutable
        return new_messages, message
    end
    return new_messages, nil
end
