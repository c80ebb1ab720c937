-- ratchet.smtp.smtp_reply: a reply expected by the SMTP client. Codes are
-- strings ("250").

local smtp_reply = {}
smtp_reply.__index = smtp_reply

function smtp_reply.new(command)
    return setmetatable({command = command}, smtp_reply)
end

-- Reads this reply from the smtp_io object. A reply that does not follow
-- the SMTP syntax raises a ratchet error (code "EPROTO") after recording the
-- offending line as the message.
function smtp_reply:recv(io)
    local code, message = io:recv_reply()
    self.code, self.message = code, message
    if not code then
        error(ratchet.error.new("Invalid SMTP reply: " .. tostring(message), "EPROTO",
            "ratchet.smtp.reply.recv()"), 0)
    end
    return self
end

function smtp_reply:error(description)
    return {
        command = self.command,
        code = tostring(self.code),
        message = self.message,
        description = description,
    }
end

return smtp_reply
