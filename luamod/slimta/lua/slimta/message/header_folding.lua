-- slimta.message.header_folding (internal): RFC 5322 folding of header
-- values that slimta writes (spec 2.14).

slimta = slimta or require "slimta"
slimta.message = slimta.message or {}

local header_folding = {}

local CRLF = "\r\n"

-- fold(name, value [, max_len]): a line break is only ever inserted before
-- a run of white space, which becomes the continuation's indentation;
-- words longer than a line are never split.
function header_folding.fold(name, value, max_len)
    max_len = max_len or 78
    if #name + 2 + #value <= max_len then
        return value
    end
    local out, n = {}, 0
    local remaining = max_len - #name - 2
    local pos, len = 1, #value
    while pos <= len do
        local ws, word, nxt = value:match("^(%s*)(%S*)()", pos)
        local piece = #ws + #word
        if piece > remaining and ws ~= "" then
            out[n + 1], out[n + 2], out[n + 3] = CRLF, ws, word
            n = n + 3
            remaining = max_len - piece
        elseif piece > remaining then
            n = n + 1
            out[n] = word
            remaining = remaining - piece
        else
            out[n + 1], out[n + 2] = ws, word
            n = n + 2
            remaining = remaining - piece
        end
        pos = nxt
    end
    return table.concat(out)
end

-- unfold(value): removes every line break that precedes white space,
-- keeping the white space. Returns the count as a second value, like gsub.
function header_folding.unfold(value)
    if not value:find("\n", 1, true) then
        return value, 0
    end
    return value:gsub("\r?\n(%s)", "%1")
end

slimta.message.header_folding = header_folding
return header_folding
