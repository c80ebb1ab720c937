-- slimta.policies.spamassassin.spamc (internal): one SYMBOLS request of the
-- spamc/spamd protocol (spec 3.10).

require "ratchet"

local spamc = {}

function spamc.build_request(data)
    return "SYMBOLS SPAMC/1.1\r\nContent-Length: " .. #data .. "\r\nUser: slimta\r\n\r\n" .. data
end

local function send_all(sock, data)
    local rest = data
    repeat
        rest = sock:send(rest)
    until not rest or rest == ""
end

local function recv_all(sock)
    local parts = {}
    while true do
        local chunk = sock:recv()
        if not chunk or chunk == "" then
            break
        end
        parts[#parts + 1] = chunk
    end
    return table.concat(parts)
end

-- parse_response(raw) -> spammy, symbols; raises on a failure status.
-- Tolerant of LF or CRLF line ends, of any protocol version and of a
-- missing final line end; the body length comes from Content-length when
-- spamd sends it (spec 6.6 #50).
function spamc.parse_response(raw)
    local status, pos = raw:match("^([^\r\n]*)\r?\n()")
    if not status then
        status, pos = raw, #raw + 1
    end
    local code = status:match("^SPAMD/%S+%s+(%d+)")
    if code ~= "0" then
        error("Error occured scanning message with spamassassin: [" .. status .. "]", 0)
    end
    local spammy, length = false, nil
    while pos <= #raw do
        local line, nextpos = raw:match("^([^\r\n]*)\r?\n()", pos)
        if not line then
            line, nextpos = raw:sub(pos), #raw + 1
        end
        pos = nextpos
        if line == "" then
            break
        end
        local name, value = line:match("^([^:]+):%s*(.*)$")
        if name then
            name = name:lower()
            if name == "spam" then
                local flag = value:match("^(%a+)")
                spammy = flag == "True" or flag == "true" or flag == "Yes" or flag == "yes"
            elseif name == "content-length" then
                length = tonumber(value)
            end
        end
    end
    local body = raw:sub(pos)
    if length then
        body = body:sub(1, length)
    end
    local lines = {}
    for line in (body .. "\n"):gmatch("([^\n]*)\n") do
        line = line:gsub("\r$", "")
        if line == "" then
            break
        end
        lines[#lines + 1] = line
    end
    return spammy, table.concat(lines, "\r\n")
end

-- symbols(socket, data) -> spammy, symbols
function spamc.symbols(sock, data)
    send_all(sock, spamc.build_request(data))
    sock:shutdown("write")
    return spamc.parse_response(recv_all(sock))
end

return spamc
