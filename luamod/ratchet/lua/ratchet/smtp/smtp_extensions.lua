-- ratchet.smtp.smtp_extensions: the set of ESMTP extensions advertised by a
-- server (server side) or parsed from an EHLO reply (client side).
-- Keywords are stored upper-cased; a value is true or the parameter string.

local smtp_io = require "ratchet.smtp.smtp_io"

local smtp_extensions = {}
smtp_extensions.__index = smtp_extensions

function smtp_extensions.new()
    return setmetatable({extensions = {}}, smtp_extensions)
end

function smtp_extensions:reset()
    self.extensions = {}
end

function smtp_extensions:has(keyword)
    return self.extensions[tostring(keyword):upper()]
end

function smtp_extensions:add(keyword, param)
    if param == nil then param = true end
    self.extensions[tostring(keyword):upper()] = param
end

function smtp_extensions:drop(keyword)
    self.extensions[tostring(keyword):upper()] = nil
end

-- Parses the text of an EHLO reply: the first line is the greeting (returned),
-- every following line is "KEYWORD [params]". A keyword without parameters is
-- stored as "".
function smtp_extensions:parse_string(text)
    local greeting
    -- (the text is bound to a local first: gopher-lua 1.1.2 crashes on a
    -- generic for over a method call on a parenthesised concatenation)
    local lines = tostring(text) .. "\n"
    for line in lines:gmatch("([^\n]*)\n") do
        line = line:gsub("\r$", "")
        if not greeting then
            greeting = line
        else
            local kw, params = line:match("^%s*([%w][%w%-]*)%s*(.-)%s*$")
            if kw then
                self:add(kw, params)
            end
        end
    end
    return greeting or ""
end

-- Builds the EHLO reply text: the greeting, then one line per extension in
-- a deterministic order (well-known extensions first, then sorted).
function smtp_extensions:build_string(greeting)
    local lines = {greeting}
    for _, l in ipairs(smtp_io.extension_list(self.extensions)) do
        lines[#lines + 1] = l
    end
    return table.concat(lines, "\r\n")
end

return smtp_extensions
