-- Namespace table for the edge modules (slimta.edge.smtp, slimta.edge.http)
-- and what they share.
slimta = slimta or require "slimta"
slimta.edge = slimta.edge or {}
local edge = slimta.edge

-- hostname() -> this machine's name, for the Received information of
-- received messages and the CRAM-MD5 challenge: $HOSTNAME, else the system
-- host name, else "localhost". Looked up once.
local hostname_cache
function edge.hostname()
    if not hostname_cache then
        hostname_cache = os.getenv("HOSTNAME")
        if not hostname_cache or hostname_cache == "" then
            local ok, name = pcall(ratchet.socket.gethostname)
            hostname_cache = ok and name or "localhost"
        end
    end
    return hostname_cache
end

-- add_relay_settings(class): the anti-relay setters (POLICY.md) of an edge
-- class whose objects keep a slimta.edge.relay_policy in .relay_policy.
local relay_settings = {"set_trusted_networks", "set_local_domains", "set_open_relay"}
function edge.add_relay_settings(class)
    for _, name in ipairs(relay_settings) do
        class[name] = function (self, value)
            local policy = self.relay_policy
            return policy[name](policy, value)
        end
    end
end

return edge
