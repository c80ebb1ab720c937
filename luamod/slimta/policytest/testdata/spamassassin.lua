-- spec 4.2 test_spamassassin against a real spamd on SPAMD_PORT (started
-- by the Go test). Both scans run inside pcall in ratchet threads.
require "ratchet"
require "slimta.message"
require "slimta.policies.spamassassin"

local m = slimta.message
local function build(subject, body)
    local data = table.concat({
        "Subject: " .. subject,
        "Message-ID: <" .. subject:gsub("%s", "") .. "@slimta.example>",
        "Date: Fri, 13 Feb 2009 23:31:30 +0000",
        "From: Sender <sender@slimta.example>",
        "To: Rcpt <rcpt@slimta.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        "",
        body,
        "",
    }, "\n")
    return m.new(m.client.new("SMTP", "test", "127.0.0.1", "none", "localhost"),
                 m.envelope.new("sender@slimta.example", {"rcpt@slimta.example"}),
                 m.contents.new(data), os.time())
end

local spam = build("spam test", "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
local ham = build("ham test", "Hello,\nthis is just a short note about lunch tomorrow.\nRegards\n")

local done = false
ratchet.new(function ()
    local sa = slimta.policies.spamassassin.new("127.0.0.1", SPAMD_PORT)
    local ok, spammy, symbols = pcall(sa.scan, sa, spam)
    assert(ok, spammy)
    assert(spammy == true and spam.spammy == true)
    assert(symbols:find("GTUBE"), symbols)
    ok, spammy = pcall(sa.scan, sa, ham)
    assert(ok, spammy)
    assert(spammy == false and ham.spammy == false)

    -- nobody listening: the documented connect error
    local dead = slimta.policies.spamassassin.new("127.0.0.1", free_port())
    local ok2, err = pcall(dead.scan, dead, ham)
    assert(not ok2)
    assert(tostring(err):find("Could not connect to spamd on %[127%.0%.0%.1%]:%d+!"), err)
    done = true
end, function (err, thread)
    error(debug.traceback(thread, tostring(err)), 0)
end):loop()
assert(done)
