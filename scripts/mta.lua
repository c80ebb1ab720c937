-- mta.lua: the slimta-lua mail transfer agent.
--
--   slimta-lua scripts/mta.lua [--port 2525] [--spool DIR] [--smarthost HOST:PORT] ...
--
-- SMTP on 127.0.0.1 -> Received/Date/Message-Id headers -> durable queue
-- (slimta.storage.disk under --spool, or Redis with --redis) -> routing
-- (MX lookups, or everything to --smarthost) -> SMTP relay with connection
-- reuse. Deferred messages are retried by a timer thread with exponential
-- back-off; permanent failures and expired messages bounce to the sender.
-- One log line per received message and per delivery attempt goes to
-- stdout. SIGINT/SIGTERM stop it gracefully. --help lists the options.

require "ratchet"
require "slimta"
require "slimta.bus"
require "slimta.message"
require "slimta.edge.smtp"
require "slimta.queue"
require "slimta.relay"
require "slimta.routing.static"
require "slimta.routing.mx"
require "slimta.routing.dispatch"
require "slimta.policies.add_date_header"
require "slimta.policies.add_received_header"
require "slimta.policies.add_message_id_header"

local USAGE = [[
usage: slimta-lua scripts/mta.lua [options]

  --listen ADDR          address to listen on (default 127.0.0.1)
  --port N               SMTP port (default 2525)
  --spool DIR            durable queue directory (default ./spool)
  --redis HOST:PORT      keep the queue in Redis instead of --spool
  --redis-db N           first of the four Redis databases used (default 0)
  --memory               keep the queue in memory (not durable; for tests)
  --smarthost HOST:PORT  relay everything to HOST:PORT (default: MX lookups)
  --hostname NAME        name in the banner, EHLO and Received headers
                         (default: $HOSTNAME or the system host name)
  --max-size BYTES       largest message accepted (default 10485760)
  --retry-interval S     seconds between retry passes (default 5)
  --retry-base S         delay before the first retry, doubled for each
                         further attempt (default 60)
  --retry-max S          longest delay between two attempts (default 3600)
  --max-attempts N       delivery attempts before a message bounces (default 10)
  --relay-timeout S      time limit of each relay step (default 30)
  --lock-duration S      how long a delivery attempt owns a message; also
                         when messages of a crashed run are retried
                         (default 120)
  --max-connections N    concurrent relay sessions per destination (default 20)
  --reuse-idle S         keep idle relay connections this long (default 10; 0 = off)
  --relay-workers N      threads relaying newly queued mail (default 8)
  --relay-batch N        messages a relay worker takes at once (default 16)
  --local-domain DOMAIN  accept mail for DOMAIN from anyone (repeatable)
  --trust CIDR           relay for clients in CIDR; replaces the default
                         loopback-only list (repeatable)
  --quiet                no per-message log lines
  --help                 show this text
]]

---------------------------------------------------------------------------
-- Options.

local function die(msg)
    io.stderr:write("mta.lua: ", msg, "\n", "try --help\n")
    os.exit(2)
end

local function host_port(s, what)
    local host, port = tostring(s):match("^%[(.+)%]:(%d+)$")
    if not host then
        host, port = tostring(s):match("^([^:]+):(%d+)$")
    end
    if not host then
        die(what .. " wants HOST:PORT, got " .. tostring(s))
    end
    return host, tonumber(port)
end

local opts = {
    listen = "127.0.0.1",
    port = 2525,
    spool = "./spool",
    hostname = os.getenv("HOSTNAME"),
    max_size = 10485760,
    retry_interval = 5,
    retry_base = 60,
    retry_max = 3600,
    max_attempts = 10,
    relay_timeout = 30,
    lock_duration = 120,
    max_connections = 20,
    reuse_idle = 10,
    relay_workers = 8,
    relay_batch = 16,
    redis_db = 0,
    local_domains = {},
    trust = nil,
    quiet = false,
}

local numeric = {
    ["--port"] = "port", ["--max-size"] = "max_size",
    ["--retry-interval"] = "retry_interval", ["--retry-base"] = "retry_base",
    ["--retry-max"] = "retry_max", ["--max-attempts"] = "max_attempts",
    ["--relay-timeout"] = "relay_timeout", ["--max-connections"] = "max_connections",
    ["--lock-duration"] = "lock_duration",
    ["--reuse-idle"] = "reuse_idle", ["--redis-db"] = "redis_db",
    ["--relay-workers"] = "relay_workers", ["--relay-batch"] = "relay_batch",
}
local stringy = {
    ["--listen"] = "listen", ["--spool"] = "spool", ["--redis"] = "redis",
    ["--smarthost"] = "smarthost", ["--hostname"] = "hostname",
}

do
    local args = arg or {}
    local i = 1
    while args[i] ~= nil do
        local a = args[i]
        local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
        if not name then
            name = a
        end
        local function take()
            if value ~= nil then
                return value
            end
            i = i + 1
            if args[i] == nil then
                die(name .. " needs a value")
            end
            return args[i]
        end
        if name == "--help" or name == "-h" then
            io.stdout:write(USAGE)
            os.exit(0)
        elseif name == "--quiet" then
            opts.quiet = true
        elseif name == "--memory" then
            opts.memory = true
        elseif numeric[name] then
            local v = tonumber(take())
            if not v or v < 0 then
                die(name .. " wants a non-negative number")
            end
            opts[numeric[name]] = v
        elseif stringy[name] then
            opts[stringy[name]] = take()
        elseif name == "--local-domain" then
            table.insert(opts.local_domains, take())
        elseif name == "--trust" then
            opts.trust = opts.trust or {}
            table.insert(opts.trust, take())
        else
            die("unknown option " .. a)
        end
        i = i + 1
    end
end

if opts.port < 1 or opts.port > 65535 then
    die("--port must be 1..65535")
end

---------------------------------------------------------------------------
-- Logging: one line per event on stdout, key=value.

local function quote(v)
    v = tostring(v == nil and "" or v):gsub("[%c]", " ")
    if v == "" or v:find("[%s\"=]") then
        return '"' .. v:gsub('"', "'") .. '"'
    end
    return v
end

local function log(event, fields)
    if opts.quiet then
        return
    end
    local parts = {os.date("!%Y-%m-%dT%H:%M:%SZ"), event}
    for _, kv in ipairs(fields) do
        parts[#parts + 1] = kv[1] .. "=" .. quote(kv[2])
    end
    io.stdout:write(table.concat(parts, " "), "\n")
    io.stdout:flush()
end

local function warn(msg)
    io.stderr:write(os.date("!%Y-%m-%dT%H:%M:%SZ"), " mta.lua: ", tostring(msg), "\n")
end

local function addresses(list)
    local out = {}
    for i, a in ipairs(list or {}) do
        out[i] = "<" .. tostring(a) .. ">"
    end
    return table.concat(out, ",")
end

local function result_text(r)
    if not r then
        return "none"
    end
    return tostring(r.code) .. " " .. tostring(r.message or "")
end

-- Wall-clock seconds (gopher-lua's os.clock is wall time since start).
local clock = os.clock

---------------------------------------------------------------------------
-- Storage.

local storage
if opts.memory then
    require "slimta.storage.memory"
    storage = slimta.storage.memory.new()
elseif opts.redis then
    require "slimta.storage.redis"
    local host, port = host_port(opts.redis, "--redis")
    storage = slimta.storage.redis.new(host, port, opts.redis_db)
    -- As for the spool below: deleting a delivered message need not wait.
    storage:set_async_delete(true)
else
    require "slimta.storage.disk"
    storage = slimta.storage.disk.new(opts.spool)
    -- A delivered message is deleted without waiting for the fsync: a
    -- crash in between only repeats that delivery (at-least-once, as for a
    -- crash during the delivery itself). Stores still wait: 250 means on disk.
    storage:set_async_delete(true)
end

---------------------------------------------------------------------------
-- Service.

local hostname = opts.hostname
if not hostname or hostname == "" then
    local ok, name = pcall(ratchet.socket.gethostname)
    hostname = ok and name or "localhost"
end

local stamp_received = slimta.policies.add_received_header.new()
local stamp_date = slimta.policies.add_date_header.new()
local stamp_msgid = slimta.policies.add_message_id_header.new(hostname)

local inflight = 0          -- requests between the edge and the queue
local stopping = false

-- Pre-queue filter: stamp headers, queue, log the reception.
local function prequeue(to_bus, messages)
    local started = clock()
    inflight = inflight + 1
    for _, m in ipairs(messages) do
        if m.client then
            -- The "by" part of Received: this MTA under its --hostname.
            m.client.receiver = hostname
        end
        stamp_received:add(m)
        stamp_date:add(m)
        stamp_msgid:add(m)
    end
    local ok, responses = pcall(function ()
        return to_bus:send_request(messages):recv_response()
    end)
    inflight = inflight - 1
    if not ok then
        warn("queueing failed: " .. tostring(responses))
        responses = {}
    end
    for i, m in ipairs(messages) do
        local r = responses[i]
        if not r then
            r = slimta.message.response.new("451", "4.3.0 Queueing failed")
            responses[i] = r
        end
        if not opts.quiet then
            log("received", {
                {"id", m.id or r.data},
                {"from", "<" .. tostring(m.envelope.sender) .. ">"},
                {"to", addresses(m.envelope.recipients)},
                {"size", m.contents and m.contents.size},
                {"client", m.client and m.client.ip},
                {"result", result_text(r)},
                {"elapsed", string.format("%.3f", clock() - started)},
            })
        end
    end
    return responses
end

local router
if opts.smarthost then
    local host, port = host_port(opts.smarthost, "--smarthost")
    router = slimta.routing.static.new("SMTP", host, port)
else
    router = slimta.routing.mx.new()
end

local function dest_text(replies)
    local seen, out = {}, {}
    for _, rep in ipairs(replies) do
        local env = rep.piece.envelope
        local d = tostring(env.dest_host) .. ":" .. tostring(env.dest_port or 25)
        if not seen[d] then
            seen[d] = true
            out[#out + 1] = d
        end
    end
    return table.concat(out, ",")
end

local function delivery_log(rec)
    local m = rec.message
    local r = rec.response
    local outcome = "delivered"
    local c = tostring(r.code):sub(1, 1)
    if c == "4" then
        outcome = "deferred"
    elseif c ~= "2" then
        outcome = "failed"
    end
    log("delivery", {
        {"id", m.id},
        {"from", "<" .. tostring(m.envelope.sender) .. ">"},
        {"to", addresses(m.envelope.recipients)},
        {"attempt", (m.attempts or 0) + 1},
        {"dest", dest_text(rec.replies)},
        {"outcome", rec.partial and (outcome .. "-partial") or outcome},
        {"result", result_text(r)},
        {"bounce", rec.bounced},
        {"elapsed", string.format("%.3f", rec.elapsed)},
    })
end

local dispatcher = slimta.routing.dispatch.new(router, {
    storage = storage,
    log = not opts.quiet and delivery_log or nil,
})

local relayer = slimta.relay.smtp.new(hostname)
relayer:set_timeout(opts.relay_timeout)
-- A delivery must end before its lock expires, or a retry pass could start
-- a second, concurrent one (§6 #18).
relayer:set_timeouts({total = math.max(1, math.min(100, opts.lock_duration * 0.8))})
relayer:set_max_connections(opts.max_connections)
relayer:set_reuse(opts.reuse_idle)
-- Nothing changes a message between the queue's store (which serialises
-- it) and the relay: send that text rather than serialising again.
relayer:set_trust_raw_data(true)

local function retry_algorithm(message)
    local n = message.attempts or 1
    if n >= opts.max_attempts then
        return nil
    end
    local delay = opts.retry_base * 2 ^ (n - 1)
    if delay > opts.retry_max then
        delay = opts.retry_max
    end
    return os.time() + math.floor(delay + 0.5)
end

---------------------------------------------------------------------------

local function listen()
    local rec = ratchet.socket.prepare_tcp(opts.listen, opts.port)
    local sock = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    sock:setsockopt("SO_REUSEADDR", true)
    -- Accepted sockets inherit TCP_NODELAY on Linux: replies are small
    -- writes that must not wait for the client's delayed ACK.
    pcall(sock.setsockopt, sock, "TCP_NODELAY", true)
    sock:bind(rec.addr)
    sock:listen()
    return sock
end

-- Runs obj:accept() forever, each result in its own thread. A failing
-- accept is logged and retried after a pause instead of ending the loop.
local function serve(obj, what)
    while not stopping do
        local ok, job = pcall(obj.accept, obj)
        if ok and job then
            ratchet.thread.attach(job)
        elseif not stopping then
            warn(what .. " accept failed: " .. tostring(job))
            ratchet.thread.timer(0.1)
        end
    end
end

local threads = {}

local function retry_loop(queue)
    while not stopping do
        local ok, job = pcall(queue.retry, queue)
        if ok and job then
            ratchet.thread.attach(job)
        elseif not ok then
            warn("retry pass failed: " .. tostring(job))
        end
        pcall(relayer.close_idle, relayer)
        ratchet.thread.timer(opts.retry_interval)
    end
end

local function shutdown(signame, listener)
    if stopping then
        return
    end
    stopping = true
    log("stopping", {{"signal", signame}})
    for _, name in ipairs({"edge", "retry"}) do
        if threads[name] then
            pcall(ratchet.thread.kill, threads[name])
        end
    end
    pcall(listener.close, listener)
    -- Let messages already handed to the queue be stored and answered.
    local deadline = os.time() + 10
    while inflight > 0 and os.time() < deadline do
        ratchet.thread.timer(0.05)
    end
    pcall(relayer.close_idle, relayer, 0)
    if storage.sync then
        -- Queued deletes (set_async_delete) reach the disk before exiting.
        pcall(storage.sync, storage)
    end
    local fields = {}
    if storage.stats then
        -- disk: fsync'd transactions and the writes they carried
        local ok, commits, ops = pcall(storage.stats, storage)
        if ok then
            fields = {{"commits", commits}, {"write_ops", ops}}
        end
    end
    log("stopped", fields)
    os.exit(0)
end

local function main()
    local queue_bus -- set below, once the queue exists
    -- Pre-queue: the edge's bus stamps, stores and logs in the edge's own
    -- thread (no proxy thread, no queue accept loop: queue:direct_bus()).
    local edge_cli = {}
    function edge_cli:send_request(messages)
        local transaction = {}
        function transaction:recv_response()
            if not self.responses then
                self.responses = prequeue(queue_bus, messages)
            end
            return self.responses
        end
        return transaction
    end

    local ok, listener = pcall(listen)
    if not ok then
        warn("cannot listen on " .. opts.listen .. ":" .. opts.port .. ": " .. tostring(listener))
        os.exit(1)
    end

    local edge = slimta.edge.smtp.new(listener, edge_cli)
    edge:set_banner_message("220", hostname .. " ESMTP slimta-lua")
    edge:set_max_message_size(opts.max_size)
    edge:set_timeout(60)
    if opts.local_domains[1] and edge.set_local_domains then
        edge:set_local_domains(opts.local_domains)
    end
    if opts.trust and edge.set_trusted_networks then
        edge:set_trusted_networks(opts.trust)
    end

    -- Post-queue: routing, relaying and merging run in the queue job's own
    -- thread (direct buses instead of proxy and relay threads).
    local relay = slimta.relay.new(nil, "SMTP")
    relay:add_relayer("SMTP", relayer)
    local queue = slimta.queue.new(nil, dispatcher:bus(relay:direct_bus()), storage)
    queue:set_retry_algorithm(retry_algorithm)
    queue:set_lock_duration(opts.lock_duration)
    -- Relay workers take up to --relay-batch stored messages at a time, so
    -- under load messages share relay sessions (see queue:direct_bus()).
    queue:set_relay_workers(math.max(1, opts.relay_workers))
    queue:set_relay_batch(math.max(1, opts.relay_batch))
    queue_bus = queue:direct_bus()

    threads.edge = ratchet.thread.attach(serve, edge, "edge")
    threads.retry = ratchet.thread.attach(retry_loop, queue)
    for _, sig in ipairs({"SIGINT", "SIGTERM"}) do
        ratchet.thread.attach(function ()
            ratchet.thread.sigwait(sig)
            shutdown(sig, listener)
        end)
    end

    log("started", {
        {"listen", opts.listen .. ":" .. opts.port},
        {"storage", opts.memory and "memory" or opts.redis and ("redis:" .. opts.redis) or ("disk:" .. opts.spool)},
        {"routing", opts.smarthost and ("smarthost:" .. opts.smarthost) or "mx"},
        {"hostname", hostname},
    })
end

ratchet.new(main, function (err, thread)
    local ok, tb = pcall(debug.traceback, thread, tostring(err))
    warn("thread error: " .. (ok and tb or tostring(err)))
end):loop()
