-- slimta.relay.smtp_session (internal): one SMTP delivery session, i.e.
-- the messages of one relay request that go to the same destination.
--
-- Errors inside the conversation are raised as tables {code, message}
-- (protocol replies or local conditions) or ratchet error objects; they
-- always end the current connection. Transaction failures (a 5xx to MAIL,
-- rejected recipients, ...) are ordinary results and keep the connection.

require "ratchet"
require "ratchet.smtp.client"
slimta = slimta or require "slimta"
require "slimta.message"

local session = {}
session.__index = session

local function is2xx(reply)
    return type(reply.code) == "string" and reply.code:sub(1, 1) == "2"
end

local function now()
    return os.time()
end

-- A connection-level failure: ends the connection. `early` marks failures
-- that happened before the message's contents were sent, which may be
-- retried once on a fresh connection when the old one had been used.
local function conn_error(code, message, early)
    error({code, message, connection = true, early = early}, 0)
end

-- Maps a ratchet error (or anything) raised by socket/SMTP calls.
local function describe(err, host)
    if type(err) == "table" and err.type ~= "ratchet_error" then
        local code = err[1] or err.code
        if code then
            return tostring(code), tostring(err[2] or err.message or "")
        end
    end
    local where = " (" .. tostring(host) .. ")"
    if type(err) == "table" and err.type == "ratchet_error" then
        local code = err.code
        if code == "ETIMEDOUT" then
            return "451", "4.4.2 Timed out waiting for the remote host" .. where
        elseif code == "ECONNCLOSED" or code == "SSLEOF" then
            return "451", "4.4.2 Connection closed by the remote host" .. where
        elseif code == "ECONNRESET" or code == "EPIPE" then
            return "451", "4.4.2 Connection reset by the remote host" .. where
        elseif code == "EPROTO" then
            return "451", "4.5.0 Invalid reply from the remote host" .. where
        elseif code == "SSLERROR" then
            return "451", "4.7.5 TLS failure: " .. tostring(err.description) .. where
        end
        return "451", "4.3.0 " .. tostring(err.description or "Unhandled error in processing.") .. where
    end
    return "451", "4.3.0 Unhandled error in processing: " .. tostring(err) .. where
end

-- Raises when a reply could not be parsed (garbage from the server).
local function check(reply)
    if reply.code == nil then
        local line = tostring(reply.message or ""):gsub("[%c]", " "):sub(1, 100)
        conn_error("451", "4.5.0 Invalid reply from the remote host: " .. line, true)
    end
    return reply
end

---------------------------------------------------------------------------

function session.new(relayer, info)
    local port = tonumber(info.port) or 25
    local host = info.host
    local self = {
        relayer = relayer,
        host = host,
        port = port,
        family = relayer.family,
        ehlo_as = relayer.ehlo_as,
        messages = {},          -- message -> response (original layout)
        items = {},             -- ordered {message = , response = }
        security_mode = relayer.security_mode,
        security_method = relayer.ssl_context,
        force_verify = relayer.force_verify,
        pool_key = host and (tostring(host):lower() .. ":" .. port .. ":" .. tostring(relayer.family)),
    }
    return setmetatable(self, session)
end

function session:add_message(message, responses, index)
    local response = slimta.message.response.new()
    responses[index] = response
    self.messages[message] = response
    self.items[#self.items + 1] = {message = message, response = response}
end

local function set_response(response, code, message)
    response.code = tostring(code)
    response.message = message or ""
end

-- Gives every message without a response yet (code, message).
function session:fail_remaining(code, message)
    for _, item in ipairs(self.items) do
        local r = item.response
        if r.code == nil or r.code == "" then
            set_response(r, code, message)
        end
    end
end

---------------------------------------------------------------------------
-- Per-destination concurrency slots. A session that finds the limit
-- reached parks itself; a finishing session hands its slot to the oldest
-- waiter.

local function acquire_slot(self)
    local relayer, key = self.relayer, self.pool_key
    local limit = relayer.max_connections
    if not limit or not ratchet.thread.self() then
        return false
    end
    local n = relayer.active[key] or 0
    if n < limit then
        relayer.active[key] = n + 1
        return true
    end
    local queue = relayer.waiters[key]
    if not queue then
        queue = {}
        relayer.waiters[key] = queue
    end
    queue[#queue + 1] = ratchet.thread.self()
    ratchet.thread.pause()
    return true
end

local function release_slot(self)
    local relayer, key = self.relayer, self.pool_key
    local queue = relayer.waiters[key]
    while queue and queue[1] do
        local t = table.remove(queue, 1)
        if pcall(ratchet.thread.unpause, t) then
            return
        end
    end
    relayer.waiters[key] = nil
    local n = (relayer.active[key] or 1) - 1
    if n <= 0 then
        relayer.active[key] = nil
    else
        relayer.active[key] = n
    end
end

---------------------------------------------------------------------------
-- Time limits: every blocking step gets min(step limit, time left for the
-- current message).

function session:step(kind)
    local limit = self.relayer.timeouts[kind] or -1
    local deadline = self.deadline
    if deadline then
        local left = deadline - now()
        if left <= 0 then
            conn_error("451", "4.4.2 Delivery timed out (" .. tostring(self.host) .. ")", kind ~= "data")
        end
        if limit < 0 or left < limit then
            limit = left
        end
    end
    if self.conn then
        self.conn.sock:set_timeout(limit)
    end
    return limit
end

---------------------------------------------------------------------------
-- Connections.

function session.close_connection(conn, polite)
    if not conn or conn.closed then
        return
    end
    conn.closed = true
    if polite and not conn.broken and ratchet.thread.self() then
        pcall(conn.sock.set_timeout, conn.sock, 2.0)
        pcall(conn.client.quit, conn.client)
    end
    pcall(conn.sock.close, conn.sock)
end

function session:drop_connection(polite)
    local conn = self.conn
    self.conn, self.client = nil, nil
    session.close_connection(conn, polite)
end

-- A pooled connection is usable if it is young enough and the server has
-- not written anything meanwhile (readable = closed or a 421 notice).
local function take_pooled(self)
    local relayer = self.relayer
    local stack = relayer.pool[self.pool_key]
    while stack and stack[1] do
        local conn = table.remove(stack)
        if not stack[1] then
            relayer.pool[self.pool_key] = nil
        end
        local idle = now() - conn.idle_since
        local usable = idle <= relayer.reuse_idle
        if usable and idle >= 2 then
            -- Only a connection that sat idle for a while is checked; a
            -- stale one found later costs one retry (see deliver_all).
            local ok, ready = pcall(ratchet.thread.block_on, {conn.sock}, {}, 0)
            usable = ok and not ready
        end
        if usable then
            conn.reused = true
            return conn
        end
        session.close_connection(conn, false)
    end
end

local function put_pooled(self, conn)
    local relayer = self.relayer
    local stack = relayer.pool[self.pool_key]
    if not stack then
        stack = {}
        relayer.pool[self.pool_key] = stack
    end
    conn.idle_since = now()
    stack[#stack + 1] = conn
end

local default_context
local function tls_context(self)
    if self.security_method then
        return self.security_method
    end
    if not ratchet.ssl then
        return nil
    end
    if not default_context then
        local ok, ctx = pcall(ratchet.ssl.new, ratchet.ssl.TLSv1_client)
        if not ok then
            ok, ctx = pcall(ratchet.ssl.new)
        end
        default_context = ok and ctx or false
    end
    return default_context or nil
end

function session:get_ehlo_name()
    local e = self.ehlo_as
    if type(e) == "function" then
        local ok, name = pcall(e, self)
        if ok and name then
            return tostring(name)
        end
    elseif e ~= nil then
        return tostring(e)
    end
    local ok, name = pcall(ratchet.socket.gethostname)
    if ok and name and name ~= "" then
        return name
    end
    return "localhost"
end

-- Verifies the server certificate; with force_verify a failure ends the
-- session with 530.
function session:check_certificate(enc)
    local host = tostring(self.host):gsub("%.$", "")
    local ok, has, verified, matched = pcall(enc.verify_certificate, enc, host)
    self.tls_verified = ok and has and verified and matched or false
    if self.force_verify and not self.tls_verified then
        conn_error("530", "5.7.0 Unable to verify certificates", true)
    end
end

function session:handshake(conn)
    local ctx = tls_context(self)
    if not ctx then
        conn_error("454", "4.7.0 TLS not available locally", true)
    end
    local enc = conn.sock:encrypt(ctx)
    self:step("connect")
    local ok, err = pcall(enc.client_handshake, enc)
    if not ok then
        conn.broken = true
        error({"454", "4.7.0 TLS handshake failed: " .. select(2, describe(err, self.host)),
               connection = true, early = true, tls_failed = true}, 0)
    end
    conn.tls = true
    self:check_certificate(enc)
end

function session:ehlo(conn)
    local client = conn.client
    local name = self:get_ehlo_name()
    self:step("command")
    local reply = check(client:ehlo(name))
    if reply.code:sub(1, 1) == "5" and not conn.tls then
        -- An old server without ESMTP.
        self:step("command")
        reply = check(client:helo(name))
    end
    if reply.code ~= "250" then
        session.close_connection(conn, true)
        error({reply.code, reply.message, connection = true}, 0)
    end
end

-- Addresses of the destination host, through ratchet.dns (with the
-- relayer's resolver configuration, if any): IPv6 first unless the family
-- says otherwise. IP literals stand for themselves.
function session:resolve()
    local host = tostring(self.host):gsub("%.$", "")
    local bare = host:match("^%[(.*)%]$") or host
    if bare:match("^%d+%.%d+%.%d+%.%d+$") or bare:find(":", 1, true) then
        return {bare}
    end
    local relayer = self.relayer
    local types = {"aaaa", "a"}
    if self.family == "AF_INET" then
        types = {"a"}
    elseif self.family == "AF_INET6" then
        types = {"aaaa"}
    end
    require "ratchet.dns"
    local ok, answers = pcall(ratchet.dns.query_all, host, types, relayer.resolv_conf, relayer.hosts)
    local addrs = {}
    if ok and type(answers) == "table" then
        for _, t in ipairs(types) do
            for _, a in ipairs(answers[t] or {}) do
                addrs[#addrs + 1] = tostring(a)
            end
        end
    end
    return addrs
end

-- Opens (or reuses) the connection to the destination.
function session:open(allow_tls)
    local relayer = self.relayer
    if relayer.reuse_idle > 0 then
        local conn = take_pooled(self)
        if conn then
            self.conn, self.client = conn, conn.client
            return conn
        end
    end
    local addrs = self:resolve()
    if not addrs[1] then
        conn_error("451", "4.4.1 Host not found: " .. tostring(self.host))
    end
    local sock, why
    for i = 1, math.min(#addrs, 4) do
        local ok, rec = pcall(ratchet.socket.prepare_tcp, addrs[i], self.port)
        if ok and rec then
            local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
            s:set_timeout(relayer.timeouts.connect or -1)
            local cok, cerr = pcall(s.connect, s, rec.addr)
            if cok then
                -- Commands and data go out in several small writes: with
                -- Nagle each could wait for the peer's delayed ACK.
                pcall(s.setsockopt, s, "TCP_NODELAY", true)
                sock = s
                break
            end
            pcall(s.close, s)
            why = type(cerr) == "table" and cerr.description or tostring(cerr)
        else
            why = type(rec) == "table" and rec.description or tostring(rec)
        end
    end
    if not sock then
        conn_error("451", "4.4.1 Connection failed: " .. tostring(why) .. " ("
            .. tostring(self.host) .. ":" .. tostring(self.port) .. ")")
    end
    local conn = {sock = sock, client = ratchet.smtp.client.new(sock), transactions = 0}
    self.conn, self.client = conn, conn.client
    local mode = self.security_mode
    if mode == "ssl" then
        self:handshake(conn)
    end
    self:step("command")
    local banner = check(conn.client:get_banner())
    if banner.code ~= "220" then
        session.close_connection(conn, true)
        error({banner.code, banner.message, connection = true}, 0)
    end
    self:ehlo(conn)
    if mode ~= "ssl" and mode ~= "none" and allow_tls then
        local offered = conn.client.extensions:has("STARTTLS")
        if not offered then
            if mode == "starttls" and self.force_verify then
                session.close_connection(conn, true)
                conn_error("530", "5.7.0 Required STARTTLS not available.", true)
            end
        elseif tls_context(self) then
            self:step("command")
            local reply = check(conn.client:starttls())
            if reply.code == "220" then
                self:handshake(conn)
                self:ehlo(conn)
            elseif mode == "starttls" and self.force_verify then
                session.close_connection(conn, true)
                error({reply.code, reply.message, connection = true}, 0)
            end
        end
    end
    return conn
end

-- open() with the opportunistic-TLS fallback: when a handshake fails and
-- TLS was not required, connect again in clear text and skip TLS for this
-- destination for a while.
function session:connect()
    local relayer = self.relayer
    local plain_until = relayer.plain_until[self.pool_key]
    local allow_tls = not plain_until or plain_until < now()
    local ok, err = pcall(self.open, self, allow_tls)
    if ok then
        return
    end
    self:drop_connection(false)
    local forced = self.security_mode == "ssl" or
        (self.security_mode == "starttls" and self.force_verify)
    if type(err) == "table" and err.tls_failed and not forced and allow_tls then
        relayer.plain_until[self.pool_key] = now() + 600
        ok, err = pcall(self.open, self, false)
        if ok then
            return
        end
        self:drop_connection(false)
    end
    error(err, 0)
end

-- Every recipient was refused: the response is the first temporary
-- refusal (so the queue retries) or else the first refusal; with several
-- recipients each one's own reply is listed in rcpt_failures.
local function refuse_all(response, failures)
    local pick = failures[1]
    for _, f in ipairs(failures) do
        if tostring(f.code):sub(1, 1) == "4" then
            pick = f
            break
        end
    end
    set_response(response, pick.code, pick.message)
    if failures[2] then
        response.rcpt_failures = failures
    end
end

-- Counts the accepted recipients and lists the refused ones.
local function tally(rcpts, recipients, failures)
    local accepted = 0
    for i, r in ipairs(rcpts) do
        check(r)
        if is2xx(r) then
            accepted = accepted + 1
        else
            failures[#failures + 1] = {recipient = recipients[i], code = r.code, message = r.message}
        end
    end
    return accepted
end

-- finish_data records the final reply of a transaction whose contents
-- were sent.
local function finish_data(self, item, final, failures)
    local conn = self.conn
    local response = item.response
    set_response(response, final.code, final.message)
    if failures[1] then
        -- Partial success: the refused recipients keep their own replies
        -- (see slimta.routing.dispatch for how they are re-queued/bounced).
        response.rcpt_failures = failures
    end
    if final.code == "421" then
        conn.broken = true
        error({final.code, final.message, connection = true, answered = true}, 0)
    end
    conn.delivered = (conn.delivered or 0) + 1
    local message = item.message
    local done = rawget(message, "relay_done")
    if done and not failures[1] and is2xx(final) then
        -- Tell the owner (slimta.queue's batches) right away that this
        -- message was delivered to every recipient.
        pcall(done, message, response)
    end
end

---------------------------------------------------------------------------
-- One mail transaction. Returns normally when the message got its
-- response (or, with next_follows on a pipelining server, once its
-- contents are queued: self.pending); raises on connection-level failures.

function session:transaction(item, next_follows)
    local conn = self.conn
    local client = conn.client
    local message = item.message
    local response = item.response
    local env = message.envelope or {}
    local recipients = env.recipients or {}
    if not recipients[1] then
        set_response(response, "550", "5.1.3 No recipients given.")
        return
    end
    local contents = message.contents or ""
    local data = self.relayer.trust_raw_data and type(contents) == "table"
        and rawget(contents, "raw_data") or tostring(contents)

    if conn.need_rset then
        self:settle_pending()
        self:step("command")
        local r = check(client:rset())
        if not is2xx(r) then
            conn_error(r.code, r.message, true)
        end
        conn.need_rset = false
    end
    conn.transactions = conn.transactions + 1

    local pipelined = client.extensions:has("PIPELINING")
    local size
    if client.extensions:has("SIZE") then
        size = #data
    end
    self:step("command")
    local mail = client:mailfrom(env.sender or "", size)
    if not pipelined then
        check(mail)
        if mail.code == "421" then
            conn_error(mail.code, mail.message, true)
        end
        if not is2xx(mail) then
            set_response(response, mail.code, mail.message)
            conn.need_rset = true
            return
        end
    end
    local rcpts = {}
    for i, r in ipairs(recipients) do
        if not pipelined then
            self:step("command")
        end
        rcpts[i] = client:rcptto(r)
        if not pipelined then
            check(rcpts[i])
            if rcpts[i].code == "421" then
                conn_error(rcpts[i].code, rcpts[i].message, true)
            end
        end
    end

    local accepted, failures = 0, {}

    if not pipelined then
        accepted = tally(rcpts, recipients, failures)
        if accepted == 0 then
            refuse_all(response, failures)
            conn.need_rset = true
            return
        end
    end

    self:step("command")
    local datar = client:data()
    -- the previous contents' reply came with this batch
    self:settle_pending()
    check(datar)
    if pipelined then
        check(mail)
        if mail.code == "421" then
            conn_error(mail.code, mail.message, true)
        end
        accepted = tally(rcpts, recipients, failures)
        if not is2xx(mail) or accepted == 0 then
            if is2xx(mail) then
                refuse_all(response, failures)
            else
                set_response(response, mail.code, mail.message)
            end
            if datar.code == "354" then
                -- The server wants contents although it refused the
                -- transaction; end it with an empty message.
                self:step("data")
                check(client:send_empty_data())
            end
            conn.need_rset = true
            return
        end
    end
    if datar.code ~= "354" then
        if datar.code == "421" then
            conn_error(datar.code, datar.message, true)
        end
        set_response(response, datar.code, datar.message)
        conn.need_rset = true
        return
    end

    item.sent_data = true
    self:step("data")
    if pipelined and next_follows then
        -- The next transaction's commands go out with these contents and
        -- this reply comes back with theirs (see settle_pending).
        self.pending = {item = item, reply = client:send_data_pipelined(data), failures = failures}
        return
    end
    finish_data(self, item, check(client:send_data(data)), failures)
end

-- settle_pending handles the final reply of the contents sent with
-- send_data_pipelined, received by the batch that just ended. A 421 there
-- ends the connection before the current transaction's contents were sent
-- (early: it may be retried on a fresh connection).
function session:settle_pending()
    local p = self.pending
    if not p then
        return
    end
    if p.reply.code == nil then
        self:step("data")
        self.client:recv_batch()
    end
    self.pending = nil
    local ok, err = pcall(finish_data, self, p.item, check(p.reply), p.failures)
    if not ok then
        if type(err) == "table" and err.answered then
            err.answered, err.early = nil, true
        end
        error(err, 0)
    end
end

-- fail_pending gives a pipelined message whose final reply never came the
-- failure that ended the connection (its outcome is unknown: temporary).
function session:fail_pending(err)
    local p = self.pending
    self.pending = nil
    if not p then
        return
    end
    if p.reply.code ~= nil and pcall(finish_data, self, p.item, p.reply, p.failures) then
        return
    end
    local r = p.item.response
    if r.code == nil or r.code == "" then
        set_response(r, describe(err, self.host))
    end
end

---------------------------------------------------------------------------

function session:deliver_all()
    local relayer = self.relayer
    local total = relayer.timeouts.total
    for index, item in ipairs(self.items) do
        local r = item.response
        if r.code == nil or r.code == "" then
            local retried = false
            while true do
                self.deadline = total and total > 0 and (now() + total) or nil
                if self.conn and self.conn.transactions >= relayer.max_per_connection then
                    self:drop_connection(true)
                end
                if not self.conn then
                    local ok, err = pcall(self.connect, self)
                    if not ok then
                        self:fail_remaining(describe(err, self.host))
                        return
                    end
                end
                local conn = self.conn
                local used = conn.reused or (conn.transactions or 0) > 0
                local follows = false
                for j = index + 1, #self.items do
                    local rj = self.items[j].response
                    if rj.code == nil or rj.code == "" then
                        follows = true
                        break
                    end
                end
                local ok, err = pcall(self.transaction, self, item,
                    follows and conn.transactions + 1 < relayer.max_per_connection)
                if ok then
                    break
                end
                self:fail_pending(err)
                conn.broken = true
                self:drop_connection(false)
                if type(err) == "table" and err.answered then
                    break
                end
                if used and not retried and not item.sent_data then
                    -- A reused connection went stale: so are probably its
                    -- pooled siblings (e.g. the server restarted). Drop
                    -- them and try once more on a fresh connection.
                    retried = true
                    local stack = relayer.pool[self.pool_key]
                    relayer.pool[self.pool_key] = nil
                    for _, c in ipairs(stack or {}) do
                        session.close_connection(c, false)
                    end
                else
                    local code, message = describe(err, self.host)
                    set_response(r, code, message)
                    -- Do not stack another timeout per remaining message.
                    if code:sub(1, 1) ~= "5" then
                        for j = index + 1, #self.items do
                            local rj = self.items[j].response
                            if rj.code == nil or rj.code == "" then
                                set_response(rj, code, message)
                            end
                        end
                    end
                    break
                end
            end
        end
    end
    if self.pending then
        local ok, err = pcall(self.settle_pending, self)
        if not ok then
            self:fail_pending(err)
            if self.conn then
                self.conn.broken = true
            end
            self:drop_connection(false)
        end
    end
end

function session:relay_all()
    if self.host == nil then
        self:fail_remaining("550", "5.1.2 No destination for SMTP delivery of message.")
        return
    end
    local slot = acquire_slot(self)
    local ok, err = pcall(self.deliver_all, self)
    if not ok then
        self:fail_pending(err)
    end
    local conn = self.conn
    if ok and conn and not conn.broken and self.relayer.reuse_idle > 0
            and conn.transactions < self.relayer.max_per_connection then
        self.conn, self.client = nil, nil
        put_pooled(self, conn)
    else
        self:drop_connection(ok)
    end
    if slot then
        release_slot(self)
    end
    if not ok then
        self:fail_remaining(describe(err, self.host))
    end
end

return session
