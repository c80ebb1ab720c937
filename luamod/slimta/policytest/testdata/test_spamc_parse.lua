-- spamc protocol parsing without a spamd (spec 3.10, 6.6 #50).
local spamc = require "slimta.policies.spamassassin.spamc"

assert(spamc.build_request("abc") ==
    "SYMBOLS SPAMC/1.1\r\nContent-Length: 3\r\nUser: slimta\r\n\r\nabc")

local spammy, symbols = spamc.parse_response(
    "SPAMD/1.1 0 EX_OK\r\nContent-length: 24\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,MISSING_DATE,NO_RE\r\n")
assert(spammy == true)
assert(symbols == "GTUBE,MISSING_DATE,NO_RE", symbols)

spammy, symbols = spamc.parse_response("SPAMD/1.1 0 EX_OK\nSpam: False ; 0.1 / 5.0\n\nNO_RELAYS")
assert(spammy == false)
-- a last line without a line end is kept
assert(symbols == "NO_RELAYS", symbols)

spammy, symbols = spamc.parse_response("SPAMD/1.5 0 EX_OK\r\nSpam: True ; 9 / 5\r\n\r\n")
assert(spammy == true and symbols == "")

for _, bad in ipairs({"", "SPAMD/1.1 76 Bad header line: x\r\n", "HTTP/1.0 200 OK\r\n\r\n"}) do
    local ok, err = pcall(spamc.parse_response, bad)
    assert(not ok)
    assert(tostring(err):find("^Error occured scanning message with spamassassin: %["), err)
end
