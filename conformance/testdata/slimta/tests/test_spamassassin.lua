require "ratchet"
require "slimta.message"
require "slimta.policies.spamassassin"

spamd_port = tonumber(os.getenv("SLIMTA_TEST_SPAMD_PORT")) or 783

local spam_data = [[
Subject: Test spam mail (GTUBE)
Message-ID: <GTUBE1.1010101@example.net>
Date: Wed, 23 Jul 2003 23:30:00 +0200
From: Sender <sender@example.net>
To: Recipient <recipient@example.net>
Precedence: junk
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is the GTUBE, the
	Generic
	Test for
	Unsolicited
	Bulk
	Email

If your spam filter supports it, the GTUBE provides a test by which you
can verify that the filter is installed correctly and is detecting incoming
spam. You can send yourself a test mail containing the following string of
characters (in upper case and with no white spaces and line breaks):

XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X

You should send this test mail from an account outside of your network.
]]

local ham_data = [[
Subject: Lunch tomorrow
Message-ID: <lunch.1010101@example.net>
Date: Wed, 23 Jul 2003 23:30:00 +0200
From: Sender <sender@example.net>
To: Recipient <recipient@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi,

are we still on for lunch tomorrow at noon? The usual place is fine.

Thanks
]]

function build_message(data)
    local client = slimta.message.client.new("SMTP", "testing", "127.0.0.1", "none", "localhost")
    local envelope = slimta.message.envelope.new("sender@example.net", {"recipient@example.net"})
    local contents = slimta.message.contents.new(data)
    return slimta.message.new(client, envelope, contents, os.time())
end

kernel = ratchet.new(function ()
    spam_message = build_message(spam_data)
    ham_message = build_message(ham_data)

    local spamassassin = slimta.policies.spamassassin.new("localhost", spamd_port)
    local ok1, err1 = pcall(spamassassin.scan, spamassassin, spam_message)
    local ok2, err2 = pcall(spamassassin.scan, spamassassin, ham_message)
    if not ok1 or not ok2 then
        io.stderr:write("spamd not available, skipping: " .. tostring(ok1 and err2 or err1) .. "\n")
        os.exit(77)
    end
end)
kernel:loop()

assert(spam_message.spammy == true)
assert(ham_message.spammy == false)

-- vim:et:fdm=marker:sts=4:sw=4:ts=4
