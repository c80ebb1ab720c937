-- slimta.relay.smtp: relayer that delivers over SMTP to envelope.dest_host.
--
-- Beyond the original behaviour (§2.25) this relayer
--   * uses STARTTLS opportunistically when the server offers it (unless
--     use_security says otherwise), with a default client context;
--   * puts a time limit on every step (connect, each reply, the data) and
--     on each message as a whole, so a target that hangs, resets or talks
--     garbage turns into a 4xx response instead of a stuck session;
--   * limits the number of concurrent sessions per destination;
--   * can keep connections open for later sessions (set_reuse);
--   * tracks RCPT replies and sends RSET after a failed transaction.

require "ratchet"
require "ratchet.smtp.client"
slimta = slimta or require "slimta"
require "slimta.message"

slimta.relay = slimta.relay or {}
slimta.relay.smtp = slimta.relay.smtp or {}
local smtp = slimta.relay.smtp
smtp.__index = smtp

local smtp_session = require "slimta.relay.smtp_session"

-- Defaults in seconds. The per-message total stays below the queue's
-- default lock duration (120 s) so that a slow delivery cannot outlive the
-- lock and be started a second time (§6 #18).
smtp.default_timeouts = {
    connect = 20,   -- TCP connect and TLS handshake, per wait
    command = 30,   -- banner, EHLO, MAIL/RCPT/DATA replies, per wait
    data = 60,      -- sending the contents and reading the final reply
    total = 100,    -- one message from its first command to its final reply
}

function smtp.new(ehlo_as, family)
    local self = {
        ehlo_as = ehlo_as,
        family = family,
        security_mode = nil,     -- nil: opportunistic STARTTLS
        ssl_context = nil,
        force_verify = false,
        timeouts = {},
        max_connections = 20,    -- concurrent sessions per destination
        reuse_idle = 0,          -- seconds an idle connection is kept (0: QUIT)
        max_per_connection = 500,
        pool = {},               -- pool key -> stack of idle connections
        active = {},             -- pool key -> sessions holding a slot
        waiters = {},            -- pool key -> threads waiting for a slot
        plain_until = {},        -- pool key -> time until which TLS is skipped
    }
    for k, v in pairs(smtp.default_timeouts) do
        self.timeouts[k] = v
    end
    return setmetatable(self, smtp)
end

function smtp:set_ehlo_as(ehlo_as)
    self.ehlo_as = ehlo_as
end

-- mode: "ssl" (TLS from connect), "starttls" (use it when offered; with
-- force_verify it is required and the certificate must verify), "none"
-- or nil (never use TLS). Without ssl_context a default client context is
-- built.
function smtp:use_security(mode, ssl_context, force_verify)
    if mode ~= nil and mode ~= "ssl" and mode ~= "starttls" and mode ~= "none" then
        error("slimta.relay.smtp:use_security(): unknown mode " .. tostring(mode), 2)
    end
    self.security_mode = mode or "none"
    self.ssl_context = ssl_context
    self.force_verify = force_verify and true or false
end

-- set_timeout(seconds) sets every per-step limit; set_timeouts{...} sets
-- individual ones (connect, command, data, total).
function smtp:set_timeout(seconds)
    for _, k in ipairs({"connect", "command", "data"}) do
        self.timeouts[k] = seconds
    end
end

function smtp:set_timeouts(t)
    for k, v in pairs(t) do
        self.timeouts[k] = v
    end
end

-- With trust true, a message whose contents carry raw_data (the text of
-- their last serialisation, e.g. by the queue's store) is sent as that text
-- instead of being serialised again. Only for pipelines where nothing
-- changes the headers between that serialisation and the relay, as in
-- scripts/mta.lua; it saves a costly re-folding of the headers.
function smtp:set_trust_raw_data(trust)
    self.trust_raw_data = trust and true or false
end

-- Resolver configuration for destination host names (objects from
-- ratchet.dns.resolv_conf.new / ratchet.dns.hosts.new); nil: the defaults.
function smtp:set_resolver(resolv_conf, hosts)
    self.resolv_conf, self.hosts = resolv_conf, hosts
end

-- Concurrent sessions per destination (host and port); nil or 0: no limit.
function smtp:set_max_connections(n)
    if n == 0 then
        n = nil
    end
    self.max_connections = n
end

-- Keep connections open for up to idle_seconds after a session, to be
-- reused by later sessions to the same destination; at most max_messages
-- transactions per connection.
function smtp:set_reuse(idle_seconds, max_messages)
    self.reuse_idle = idle_seconds or 0
    if max_messages then
        self.max_per_connection = max_messages
    end
end

-- Closes pooled connections idle for more than max_idle seconds (default:
-- the reuse setting; 0 closes all). Returns how many were closed. Call it
-- from a timer thread, and with 0 before shutting down.
function smtp:close_idle(max_idle)
    max_idle = max_idle or self.reuse_idle
    local now = os.time()
    local closed = 0
    for key, stack in pairs(self.pool) do
        local keep = {}
        for _, conn in ipairs(stack) do
            if max_idle <= 0 or now - conn.idle_since > max_idle then
                smtp_session.close_connection(conn, true)
                closed = closed + 1
            else
                keep[#keep + 1] = conn
            end
        end
        if #keep == 0 then
            self.pool[key] = nil
        else
            self.pool[key] = keep
        end
    end
    return closed
end

function smtp:build_session_info(message)
    local env = message.envelope or {}
    local host, port = env.dest_host, env.dest_port
    local key = tostring(env.dest_relayer or "default") .. ":["
        .. (host and tostring(host):lower() or "default") .. "]:"
        .. tostring(port or "default")
    return key, {host = host, port = port}
end

function smtp:new_session(info)
    return smtp_session.new(self, info)
end

return slimta
