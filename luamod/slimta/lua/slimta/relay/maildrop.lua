-- slimta.relay.maildrop: relayer that hands each message to a local
-- delivery program (maildrop by default) through ratchet.exec.
--
-- Differences from the original (§2.26, §6 #40): the configured command is
-- honoured, the recipient is passed (one invocation per recipient, by
-- default `maildrop -f <sender> -d <local part>`), stdin/stdout/stderr are
-- serviced together so the child can never block on a full pipe, and a
-- time limit kills the child and answers 451 4.4.7 instead of raising.

require "ratchet"
slimta = slimta or require "slimta"
require "slimta.message"

slimta.relay = slimta.relay or {}
slimta.relay.maildrop = slimta.relay.maildrop or {}
local maildrop = slimta.relay.maildrop
maildrop.__index = maildrop

local maildrop_session = require "slimta.relay.maildrop_session"

-- command: program name (looked up in PATH) or an argv prefix array.
-- time_limit: seconds per invocation (default 100, below the queue lock).
function maildrop.new(command, time_limit)
    local argv
    if type(command) == "table" then
        argv = {}
        for i, a in ipairs(command) do
            argv[i] = tostring(a)
        end
    else
        argv = {command or "maildrop"}
    end
    local self = {
        argv = argv,
        time_limit = time_limit or 100,
        max_parallel = 8,
        build_argv = maildrop.default_argv,
    }
    return setmetatable(self, maildrop)
end

-- The default invocation for one recipient.
function maildrop.default_argv(relayer, message, recipient)
    local argv = {}
    for i, a in ipairs(relayer.argv) do
        argv[i] = a
    end
    local sender = message.envelope and message.envelope.sender or ""
    argv[#argv + 1] = "-f"
    argv[#argv + 1] = sender
    if recipient then
        local user = recipient:match("^(.*)@[^@]*$") or recipient
        argv[#argv + 1] = "-d"
        argv[#argv + 1] = user
    end
    return argv
end

-- fn(relayer, message, recipient) -> argv array, to change the invocation.
function maildrop:set_argv_builder(fn)
    self.build_argv = fn or maildrop.default_argv
end

function maildrop:set_time_limit(seconds)
    self.time_limit = seconds
end

-- Number of delivery processes run at the same time within a session.
function maildrop:set_max_parallel(n)
    self.max_parallel = n
end

function maildrop:build_session_info()
    return "maildrop", {}
end

function maildrop:new_session()
    return maildrop_session.new(self)
end

return slimta
