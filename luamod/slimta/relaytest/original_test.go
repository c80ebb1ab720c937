package relaytest_test

import (
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The original test_relay_smtp_relayer (spec §4.2), on a free port: the
// relay manager over a local bus delivers into a ratchet SMTP server that
// checks every step; the remote enhanced status code stays in the text.
func TestOriginalRelaySMTPRelayer(t *testing.T) {
	out := runLua(t, `
		require "ratchet"
		require "ratchet.smtp.server"
		require "slimta.message"
		require "slimta.bus"
		require "slimta.relay"
		local h = require "relayhelp"
		tracker = 0
		local handlers = {}
		function handlers:EHLO(reply, name) assert(name == "test_ehlo"); tracker = tracker + 1 end
		function handlers:MAIL(reply, sender) assert(sender == "sender@slimta.org"); tracker = tracker + 2 end
		function handlers:RCPT(reply, rcpt)
			if rcpt == "rcpt1@slimta.org" then tracker = tracker + 4
			elseif rcpt == "rcpt2@slimta.org" then tracker = tracker + 8 end
		end
		function handlers:HAVE_DATA(reply, data)
			assert(data == "From: Test Sender <sender@slimta.org>\r\nTo: Test Recipient <rcpt1@slimta.org>\r\n"
				.. "Cc: Test Recipient <rcpt2@slimta.org>\r\nSubject: test message\r\n\r\nbeep beep", data)
			tracker = tracker + 16
			reply.message = "Ok"
		end
		h.run(function ()
			local rec = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
			local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
			listener:setsockopt("SO_REUSEADDR", true)
			listener:bind(rec.addr)
			listener:listen()
			ratchet.thread.attach(function ()
				local client = listener:accept()
				client:set_timeout(2.0)
				ratchet.smtp.server.new(client, handlers):handle()
				listener:close()
			end)
			local relayer = slimta.relay.smtp.new()
			relayer:set_ehlo_as("test_ehlo")
			local c = slimta.message.client.new("SMTP", "testing", "1.2.3.4", "none", nil)
			local e = slimta.message.envelope.new("sender@slimta.org", {"rcpt1@slimta.org", "rcpt2@slimta.org"},
				"SMTP", "127.0.0.1", PORT)
			local contents = slimta.message.contents.new("From: Test Sender <sender@slimta.org>\nTo: Test Recipient <rcpt1@slimta.org>\n"
				.. "Cc: Test Recipient <rcpt2@slimta.org>\nSubject: test message\n\nbeep beep\n")
			RESULTS = h.plain(h.relay({SMTP = relayer}, {slimta.message.new(c, e, contents)}))
		end)
		RESULTS.tracker = tracker
	`, map[string]any{"PORT": peers.FreePort(t)})
	m := out.(map[string]any)
	assert.Equal(t, 31.0, m["tracker"], "EHLO once, MAIL, both RCPTs and the data")
	r, ok := m["1"].(map[string]any)
	require.True(t, ok, "%#v", m)
	assert.Equal(t, "250", r["code"])
	assert.Equal(t, "2.6.0 Ok", r["message"])
}
