-- slimta.edge.smtp: receives mail over SMTP (spec 2.18, 3.6). For every
-- accepted connection, accept() returns a callable that runs the whole
-- conversation with ratchet's SMTP engine; each received message is sent as
-- {message} on the edge's bus and the first response becomes the reply to
-- the end of data.

require "ratchet"
slimta = slimta or require "slimta"
require "slimta.edge"
require "slimta.message"
local smtp_server = require "ratchet.smtp.server"
if type(smtp_server) ~= "table" then
    smtp_server = ratchet.smtp.server
end
local relay_policy = require "slimta.edge.relay_policy"

local smtp = {}
smtp.__index = smtp

local session = {}
session.__index = session

local handler = {}
handler.__index = handler

local session_class -- defined after the session methods
local message_builder -- defined with the message construction

local local_hostname = require("slimta.edge").hostname
smtp.hostname = local_hostname

function smtp.new(socket, bus)
    return setmetatable({
        socket = socket,
        bus = bus,
        build_message = message_builder(),
        settings = {banner_code = 220, banner_message = "ESMTP Welcome", validators = {}},
        relay_policy = relay_policy.new(),
    }, smtp)
end

function smtp:set_banner_message(code, message)
    self.settings.banner_code = code
    self.settings.banner_message = message
end

function smtp:set_max_message_size(size)
    self.settings.max_message_size = tonumber(size)
end

function smtp:enable_tls(context, immediately)
    self.settings.tls_context = context
    self.settings.tls_immediately = immediately and true or nil
end

function smtp:set_timeout(seconds)
    self.settings.timeout = seconds
end

function smtp:enable_authentication(auth)
    self.settings.auth = auth
end

function smtp:set_validator(command, fn)
    self.settings.validators[tostring(command):upper()] = fn
end

-- Anti-relay settings (POLICY.md): set_trusted_networks,
-- set_local_domains, set_open_relay. They only matter while no RCPT
-- validator is set: a validator is the application's own decision.
slimta.edge.add_relay_settings(smtp)

function smtp:close()
    return self.socket:close()
end

-- accept() -> callable that handles one SMTP connection.
function smtp:accept()
    local client, from = self.socket:accept()
    local settings = self.settings
    if settings.timeout then
        client:set_timeout(settings.timeout)
    end
    local s = {
        protocol = "SMTP",
        security = "none",
        from_ip = tostring(from),
        smtp_edge = self,
    }
    setmetatable(s, session_class(self, s))
    local server = smtp_server.new(client, s, settings.tls_context, settings.tls_immediately)
    s.server = server
    if settings.max_message_size then
        server.extensions:add("SIZE", tostring(math.floor(settings.max_message_size)))
    end
    if settings.auth then
        local auth_session = settings.auth:get_session(false)
        if auth_session then
            server.extensions:add("AUTH", tostring(auth_session))
        end
    end
    return setmetatable({server = server, session = s, socket = client}, handler)
end

function handler:__call()
    return self.server:handle()
end

---------------------------------------------------------------------------
-- Session: the handler table given to the SMTP engine. Hooks are called as
-- methods with a mutable reply {code, message, enhanced_status_code}.

local transitions = {
    EHLO = {SMTP = "ESMTP", SMTPS = "ESMTPS"},
    TLS = {SMTP = "SMTPS", ESMTP = "ESMTPS", ESMTPA = "ESMTPSA"},
    AUTH = {ESMTP = "ESMTPA", ESMTPS = "ESMTPSA"},
}
local ehlo_transition = transitions.EHLO
local os_time = os.time

function session:transition(event)
    self.protocol = transitions[event][self.protocol] or self.protocol
end

-- validate(command, reply, ...) runs the application's validator, then
-- makes sure the code is a string (spec 6.1 #7: numeric codes compared
-- unequal to "250").
function session:validate(command, reply, ...)
    local fn = self.smtp_edge.settings.validators[command]
    if fn then
        self:sync_ehlo()
        fn(self, reply, ...)
    end
    if reply.code ~= nil then
        reply.code = tostring(reply.code)
    end
end

function session:BANNER(reply)
    local settings = self.smtp_edge.settings
    reply.code = tostring(settings.banner_code)
    reply.message = settings.banner_message
    self:validate("BANNER", reply)
end

-- sync_ehlo(): a session without an EHLO hook (see session_class) learns
-- from the engine's fields whether an EHLO was accepted and under which
-- name; this applies that before anything reads protocol or ehlo_as. With
-- the hook it changes nothing: the engine records exactly what the hook
-- saw (250 replies; HELO leaves esmtp unset).
function session:sync_ehlo()
    local server = self.server
    if server.esmtp then
        self:transition("EHLO")
    end
    self.ehlo_as = server.ehlo_as
end

-- EHLO hook; the engine also uses it for HELO (third argument true). HELO
-- keeps the protocol SMTP/SMTPS (spec 6.1 #2).
function session:EHLO(reply, ehlo_as, is_helo)
    self:validate("EHLO", reply, ehlo_as)
    if reply.code == "250" then
        if not is_helo then
            self:transition("EHLO")
        end
        self.ehlo_as = ehlo_as
        self.message = nil
    end
end

-- tls_started(extensions): bookkeeping once TLS is (being) negotiated:
-- protocol and security change, the EHLO and any transaction are
-- forgotten (spec 6.1 #6) and AUTH is offered with every mechanism.
function session:tls_started(extensions)
    self:sync_ehlo()
    self:transition("TLS")
    self.security = "TLS"
    self.ehlo_as = nil
    self.message = nil
    local auth = self.smtp_edge.settings.auth
    if auth and extensions then
        local auth_session = auth:get_session(true)
        if auth_session then
            extensions:add("AUTH", tostring(auth_session))
        else
            extensions:drop("AUTH")
        end
    end
end

-- STARTTLS hook. In immediate mode the engine calls it before the banner
-- with an empty reply. Otherwise nothing changes unless the final reply is
-- 220 (spec 6.1 #5): after a 220 the engine either completes the handshake
-- or ends the session, so no plaintext command ever sees the new state.
function session:STARTTLS(reply, extensions)
    if reply.code == nil then
        self:tls_started(extensions)
        return
    end
    self:validate("STARTTLS", reply)
    if reply.code == "220" then
        self:tls_started(extensions)
    end
end

function session:MAIL(reply, address)
    self:validate("MAIL", reply, address)
    if reply.code == "250" then
        self.message = {sender = address, recipients = {}}
    end
end

-- may_relay(address): the default relay rule (POLICY.md); whether the
-- client is trusted is worked out once per session.
function session:may_relay(address)
    local policy = self.smtp_edge.relay_policy
    if policy.open or self.authed then
        return true
    end
    if self.trusted == nil then
        self.trusted = policy:trusted(self.from_ip)
    end
    return self.trusted or policy:local_recipient(address)
end

function session:RCPT(reply, address)
    local edge = self.smtp_edge
    if not edge.settings.validators.RCPT and not self:may_relay(address) then
        reply.code = "554"
        reply.message = "Relay access denied"
        reply.enhanced_status_code = "5.7.1"
    end
    self:validate("RCPT", reply, address)
    if reply.code == "250" and self.message then
        local rcpts = self.message.recipients
        rcpts[#rcpts + 1] = address
    end
end

function session:DATA(reply)
    self:validate("DATA", reply)
end

function session:RSET(reply)
    if reply.code == "250" then
        self.message = nil
    end
end

-- may_skip_envelope_hooks(session): true when MAIL, RCPT, DATA and RSET
-- need no Lua for this session: no validator for them and every recipient
-- may be relayed. The engine then runs those commands without entering
-- Lua (and without the kernel baton) and hands the envelope to HAVE_DATA;
-- session.message stays nil between MAIL and the end of data.
local function may_skip_envelope_hooks(self, s)
    local v = self.settings.validators
    if v.MAIL or v.RCPT or v.DATA then
        return false
    end
    local policy = self.relay_policy
    if policy.open or s.authed then
        return true
    end
    if s.trusted == nil then
        s.trusted = policy:trusted(s.from_ip)
    end
    return s.trusted
end

-- build_message(data, sender, recipients, protocol, ehlo, ip, security,
-- receiver, authed, timestamp) -> the slimta message for a received
-- transaction. A null sender adds no empty From: header (spec 6.1 #10).
local function lua_build_message(data, sender, recipients, protocol, ehlo, ip, security,
                                 receiver, authed, timestamp)
    local m = slimta.message
    local client = m.client.new(protocol, ehlo, ip, security, receiver, authed)
    local envelope = m.envelope.new(sender, recipients)
    local contents = m.contents.new(data)
    if sender and sender ~= "" and not contents.headers.from[1] then
        contents:add_header("From", sender)
    end
    return m.new(client, envelope, contents, timestamp)
end

-- message_builder() -> build_message for a new edge: the same in one Go
-- call (slimta.message.native), unless the constructors it stands for
-- were replaced (checked when the edge is created, not per message).
local has_native, native = pcall(require, "slimta.message.native")
local native_build, native_for

function message_builder()
    if not has_native or type(native) ~= "table" or not native.message_builder then
        return lua_build_message
    end
    local m = slimta.message
    local ctors = {m.new, m.client.new, m.envelope.new, m.contents.new}
    if native_for then
        for i = 1, 4 do
            if ctors[i] ~= native_for[i] then
                return lua_build_message
            end
        end
        return native_build
    end
    native_build = native.message_builder(m.contents.new, m.client, m.envelope, getmetatable(m.new()))
    if not native_build then
        return lua_build_message
    end
    native_for = ctors
    return native_build
end

local function too_big(reply)
    reply.code = "552"
    reply.message = "Message exceeded size limit."
    reply.enhanced_status_code = "5.3.4"
end

-- HAVE_DATA: the message arrived (or was too big). Build the slimta
-- message, send it on the bus, reply with the first response.
function session:HAVE_DATA(reply, data, err, sender, recipients)
    local transaction = self.message
    if transaction then
        self.message = nil
        sender, recipients = transaction.sender, transaction.recipients
    elseif not recipients then
        -- no MAIL/RCPT hooks and an engine that does not pass the envelope
        sender = nil
    end
    if err or not data then
        if err == nil or ratchet.error.is(err, "MSGTOOBIG") then
            too_big(reply)
            return
        end
        error(err, 0)
    end
    local edge = self.smtp_edge
    local limit = edge.settings.max_message_size
    -- the limit holds even when SIZE was not advertised (HELO, spec 6.1 #2)
    if limit and #data > limit then
        too_big(reply)
        return
    end
    if not recipients then
        reply.code = "503"
        reply.message = "No valid sender given"
        reply.enhanced_status_code = "5.5.1"
        return
    end
    -- sync_ehlo, inlined: this runs for every message
    local server = self.server
    local protocol = self.protocol
    if server.esmtp then
        local p = ehlo_transition[protocol]
        if p then
            protocol = p
            self.protocol = p
        end
    end
    local ehlo_as = server.ehlo_as
    self.ehlo_as = ehlo_as
    local msg = edge.build_message(data, sender, recipients, protocol, ehlo_as, self.from_ip,
                                   self.security, local_hostname(), self.authed,
                                   os_time())
    local responses = edge.bus:send_request({msg}):recv_response()
    local r = type(responses) == "table" and responses[1]
    if not r then
        reply.code = "451"
        reply.message = "Message could not be queued"
        reply.enhanced_status_code = "4.3.0"
        return
    end
    local code, message = r:as_smtp()
    reply.code = tostring(code)
    reply.message = tostring(message or "")
end

local function auth_reply(code, esc, message)
    return {code = code, message = message, enhanced_status_code = esc}
end

-- AUTH arg: the RFC 4954 exchange (spec 2.19, 3.6.4). Challenges go out as
-- 334 lines; the client's answers are read line by line.
function session:AUTH(arg, server)
    server = server or self.server
    local auth = self.smtp_edge.settings.auth
    if not auth or not server.extensions:has("AUTH") then
        return auth_reply("500", "5.5.2", "Syntax error, command unrecognized")
    end
    self:sync_ehlo()
    if not self.ehlo_as or self.authed then
        return auth_reply("503", "5.5.1", "Bad sequence of commands")
    end
    -- not inside a mail transaction (RFC 4954 section 4, spec 6.1 #3)
    if self.message then
        return auth_reply("503", "5.5.1", "Bad sequence of commands")
    end
    if not arg or not arg:find("%S") then
        return auth_reply("501", "5.5.4", "Syntax error in parameters or arguments")
    end
    local auth_session = auth:get_session(self.security == "TLS")
    if not auth_session then
        return auth_reply("504", "5.5.4", "Invalid authentication mechanism")
    end
    local reply = auth_reply("235", "2.7.0", "Authentication successful")
    local state, last = {}, nil
    local io_ = server.io
    while true do
        local identity, challenge = auth_session:challenge(arg, reply, state, last)
        if identity then
            self.authed = identity
            self:transition("AUTH")
            setmetatable(self, session_class(self.smtp_edge, self))
            return reply
        elseif challenge then
            io_:send_reply("334", challenge)
            io_:flush_send()
            last = io_:recv_line()
        else
            if tostring(reply.code):sub(1, 1) == "2" then
                -- a mechanism that failed without saying why
                reply.code, reply.enhanced_status_code = "535", "5.7.8"
                reply.message = "Authentication credentials invalid"
            end
            return reply
        end
    end
end

-- session_class(edge, session) -> the metatable for a session: session
-- itself, or a copy without the hooks this session does not need, so that
-- the engine answers those commands without entering Lua. EHLO needs no
-- hook without an EHLO validator (sync_ehlo catches up from the engine).
local variants = {}
local envelope_hooks = {MAIL = true, RCPT = true, DATA = true, RSET = true}

function session_class(edge, s)
    local skip_ehlo = not edge.settings.validators.EHLO
    local skip_envelope = may_skip_envelope_hooks(edge, s)
    if not skip_ehlo and not skip_envelope then
        return session
    end
    local key = (skip_ehlo and "e" or "") .. (skip_envelope and "m" or "")
    local cls = variants[key]
    if not cls then
        cls = {}
        for k, v in pairs(session) do
            if not (skip_ehlo and k == "EHLO") and not (skip_envelope and envelope_hooks[k]) then
                cls[k] = v
            end
        end
        cls.__index = cls
        variants[key] = cls
    end
    return cls
end

slimta.edge.smtp = smtp
return smtp
