-- ratchet.smtp.client: an SMTP client on a connected ratchet socket.
-- Every command method returns a reply object whose code/message are filled
-- in when its reply has been received (immediately, or with the next batch
-- when the server offers PIPELINING).

require "ratchet"
local smtp_io = require "ratchet.smtp.smtp_io"
local smtp_reply = require "ratchet.smtp.smtp_reply"
local smtp_extensions = require "ratchet.smtp.smtp_extensions"
local data_sender = require "ratchet.smtp.data_sender"

local client = {}
client.__index = client

function client.new(socket, chunk_size)
    local self = {
        io = smtp_io.new(socket),
        extensions = smtp_extensions.new(),
        iter_size = chunk_size,
        recv_queue = {},
    }
    return setmetatable(self, client)
end

-- Flushes queued commands, then receives every outstanding reply in order.
function client:recv_batch()
    self.io:flush_send()
    local queue = self.recv_queue
    self.recv_queue = {}
    for i = 1, #queue do
        queue[i]:recv(self.io)
    end
end

local function expect(self, command)
    local reply = smtp_reply.new(command)
    local queue = self.recv_queue
    queue[#queue + 1] = reply
    return reply
end

function client:get_banner()
    local reply = expect(self, "[BANNER]")
    self:recv_batch()
    return reply
end

function client:ehlo(ehlo_as)
    self.io:send_command("EHLO " .. ehlo_as)
    local reply = expect(self, "EHLO")
    self:recv_batch()
    if reply.code == "250" then
        self.extensions:reset()
        reply.message = self.extensions:parse_string(reply.message)
    end
    return reply
end

function client:helo(ehlo_as)
    self.io:send_command("HELO " .. ehlo_as)
    local reply = expect(self, "HELO")
    self:recv_batch()
    return reply
end

function client:starttls()
    self.io:send_command("STARTTLS")
    local reply = expect(self, "STARTTLS")
    self:recv_batch()
    return reply
end

function client:mailfrom(address, data_size)
    local command = "MAIL FROM:<" .. address .. ">"
    if data_size and self.extensions:has("SIZE") then
        command = command .. " SIZE=" .. tostring(data_size)
    end
    self.io:send_command(command)
    local reply = expect(self, "MAIL FROM")
    if not self.extensions:has("PIPELINING") then
        self:recv_batch()
    end
    return reply
end

function client:rcptto(address)
    self.io:send_command("RCPT TO:<" .. address .. ">")
    local reply = expect(self, "RCPT TO")
    if not self.extensions:has("PIPELINING") then
        self:recv_batch()
    end
    return reply
end

function client:data()
    self.io:send_command("DATA")
    local reply = expect(self, "DATA")
    self:recv_batch()
    return reply
end

-- Sends the message text with the transparency transform (CR removed,
-- LF -> CRLF, leading dots doubled) and the terminating "." line.
function client:send_data(data)
    local reply = expect(self, "[MESSAGE CONTENTS]")
    data_sender.new(data, self.iter_size):send(self.io)
    self:recv_batch()
    return reply
end

-- send_data_pipelined(data): send_data without waiting, for a server that
-- offers PIPELINING when the next transaction follows at once: RFC 2920
-- lets the message contents start a new group, so the contents, the next
-- MAIL, RCPT and DATA go out together and their replies come back
-- together. The returned reply is filled in by the next recv_batch() (which
-- every command that waits calls).
function client:send_data_pipelined(data)
    local reply = expect(self, "[MESSAGE CONTENTS]")
    data_sender.new(data, self.iter_size):send(self.io, true)
    return reply
end

function client:send_empty_data()
    self.io:send_command(".")
    local reply = expect(self, "[MESSAGE CONTENTS]")
    self:recv_batch()
    return reply
end

function client:custom_command(command, arg)
    if arg then
        self.io:send_command(command .. " " .. arg)
    else
        self.io:send_command(command)
    end
    local reply = expect(self, command:upper())
    self:recv_batch()
    return reply
end

function client:rset()
    self.io:send_command("RSET")
    local reply = expect(self, "RSET")
    self:recv_batch()
    return reply
end

function client:quit()
    self.io:send_command("QUIT")
    local reply = expect(self, "QUIT")
    self:recv_batch()
    self.io:close()
    return reply
end

function client:close()
    self.io:close()
end

ratchet.smtp = ratchet.smtp or {}
ratchet.smtp.client = client

return client
