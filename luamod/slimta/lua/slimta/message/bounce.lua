-- slimta.message.bounce: builds delivery status notifications for failed
-- messages (spec 2.16, 3.9).
--
-- Differences from the original (spec 6.14, 6.25, 6.49):
--  * substituted values cannot span lines: line breaks become folds, so a
--    remote reply cannot forge MIME structure (e.g. a boundary line);
--  * the delivery-status part follows RFC 3464: Reporting-MTA, then one
--    group per original recipient (Final-Recipient, Action, Status,
--    Remote-MTA = the destination host, Diagnostic-Code); the original
--    reported the submitting client as Remote-MTA;
--  * build() refuses to bounce a message from the null sender (a bounce of
--    a bounce) and returns nil, reason instead.

slimta = slimta or require "slimta"
slimta.message = slimta.message or {}
local uuid = require "slimta.uuid"

local bounce = {}
bounce.__index = bounce

bounce.default_header_template = [[
From: MAILER-DAEMON
To: $(sender)
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; 
    boundary="$(boundary)"
Content-Transfer-Encoding: 7bit

This is a multi-part message in MIME format.

--$(boundary)
Content-Type: text/plain

Delivery failed.

Destination host responded:
$(code) $(message)

--$(boundary)
Content-Type: message/delivery-status

Reporting-MTA: dns; $(reporting_mta)
$(recipient_fields)
--$(boundary)
Content-Type: message/rfc822

]]

bounce.default_footer_template = [[

--$(boundary)--
]]

local function to_crlf(s)
    return (s:gsub("\r?\n", "\r\n"))
end

function bounce.new(sender, client, header_tmpl, footer_tmpl)
    return setmetatable({
        sender = sender or "",
        client = client,
        header_template = to_crlf(header_tmpl or bounce.default_header_template),
        footer_template = to_crlf(footer_tmpl or bounce.default_footer_template),
    }, bounce)
end

-- one_line makes a substituted value safe: every line break becomes a
-- fold (CRLF + space), so no substituted line can start at column 0.
local function one_line(v)
    v = tostring(v)
    if not v:find("[\r\n]") then
        return v
    end
    v = v:gsub("[\r\n]+$", ""):gsub("[\r\n]+", "\r\n ")
    return v
end

local function substitute(tmpl, values)
    return (tmpl:gsub("%$%((.-)%)", function(key)
        local v = values[key]
        if v ~= nil then
            return tostring(v)
        end
    end))
end

local function status_of(code, message)
    local esc = tostring(message or ""):match("^%s*([245]%.%d%d?%d?%.%d%d?%d?)")
    if esc then
        return esc
    end
    local class = tostring(code or ""):match("^%s*([245])")
    if class == "4" then
        return "4.0.0"
    end
    return "5.0.0"
end

local function recipient_fields(message, response, values)
    local out, n = {}, 0
    local status = status_of(response.code, response.message)
    local diag = "smtp; " .. values.code .. " " .. values.message
    for _, rcpt in ipairs(message.envelope.recipients or {}) do
        out[n + 1] = "\r\nFinal-Recipient: rfc822; " .. one_line(rcpt) .. "\r\n"
        out[n + 2] = "Action: failed\r\nStatus: " .. status .. "\r\n"
        n = n + 2
        if message.envelope.dest_host then
            n = n + 1
            out[n] = "Remote-MTA: dns; " .. values.dest_host .. "\r\n"
        end
        n = n + 1
        out[n] = "Diagnostic-Code: " .. diag .. "\r\n"
    end
    return table.concat(out)
end

-- build(message, response [, timestamp]) -> bounce message, or nil and a
-- reason when the failed message has the null sender.
function bounce.build(self, message, response, timestamp)
    local env = message.envelope
    if env.sender == nil or env.sender == "" then
        return nil, "Message from the null sender is not bounced."
    end
    local client = message.client or {}
    local values = {
        boundary = "boundary_" .. uuid.generate(),
        sender = one_line(env.sender),
        client_name = one_line(client.host or "unknown"),
        client_ip = one_line(client.ip or "unknown"),
        dest_host = one_line(env.dest_host or "unknown"),
        dest_port = one_line(env.dest_port or "unknown"),
        protocol = client.protocol and one_line(client.protocol),
        code = one_line(response.code),
        message = one_line(response.message),
        reporting_mta = one_line(client.receiver or "localhost"),
    }
    values.recipient_fields = recipient_fields(message, response, values)

    local body = substitute(self.header_template, values)
        .. tostring(message.contents)
        .. substitute(self.footer_template, values)

    -- Required here, not at load time: slimta.message loads this module.
    local msg = require "slimta.message"
    local bounce_client = self.client
    if not bounce_client then
        bounce_client = message.client and msg.client.copy(message.client)
            or msg.client.new()
    end
    return msg.new(
        bounce_client,
        msg.envelope.new(self.sender, {env.sender}),
        msg.contents.new(body),
        timestamp or os.time())
end

slimta.message.bounce = bounce
return bounce
