package relaytest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/ratchet/dns/dnstest"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoutingStatic(t *testing.T) {
	out := runLua(t, `
		local h = require "relayhelp"
		assert(require "slimta.routing.static" == true, "require returns nothing")
		local r = slimta.routing.static.new("SMTP", "mail.test", 2525)
		local m = h.message("a@x.test", {"b@y.test"}, "x")
		local routed = r:route(m)
		assert(#routed == 1 and routed[1] == m)
		local f = slimta.routing.static.new(function () return "R" end, function (msg) return msg.envelope.sender:match("@(.*)") end)
		local m2 = h.message("a@x.test", {"b@y.test"}, "x")
		f:route(m2)
		local n = slimta.routing.static.new(nil, nil)
		local m3 = h.message("a@x.test", {"b@y.test"}, "x")
		n:route(m3)
		RESULTS = {
			relayer = m.envelope.dest_relayer, host = m.envelope.dest_host, port = m.envelope.dest_port,
			relayer2 = m2.envelope.dest_relayer, host2 = m2.envelope.dest_host, port2 = m2.envelope.dest_port,
			host3 = tostring(m3.envelope.dest_host),
		}
	`, nil)
	assert.Equal(t, map[string]any{
		"relayer": "SMTP", "host": "mail.test", "port": 2525.0,
		"relayer2": "R", "host2": "x.test", "port2": 25.0,
		"host3": "nil",
	}, out)
}

// startDNS runs a test DNS server and returns the path of a resolv.conf
// pointing at it.
func startDNS(t *testing.T, records ...string) string {
	t.Helper()
	srv, err := dnstest.StartTestServer(records...)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "resolv.conf")
	require.NoError(t, os.WriteFile(path, []byte(srv.ResolvConf("options timeout:1 attempts:1")), 0o644))
	return path
}

func TestRoutingMX(t *testing.T) {
	rc := startDNS(t,
		"multi.test. 60 IN MX 20 mx2.multi.test.",
		"multi.test. 60 IN MX 10 mx1.multi.test.",
		"multi.test. 60 IN MX 10 mx1b.multi.test.",
		"multi.test. 60 IN MX 30 mx3.multi.test.",
		"nomx.test. 60 IN A 127.0.0.1",
		"null.test. 60 IN MX 0 .",
	)
	out := runLua(t, `
		local h = require "relayhelp"
		assert(require "slimta.routing.mx" == true, "require returns nothing")
		h.run(function ()
			local router = slimta.routing.mx.new()
			router:set_resolver(ratchet.dns.resolv_conf.new({RC}))
			router:set_mx("forced.test", {"f1.test", "f2.test"})
			RESULTS = {}
			for _, attempts in ipairs({0, 1, 3, 4}) do
				local m = h.message("a@x.test", {"a@Multi.Test", "b@nomx.test", "c@multi.test", "nodomain", "d@null.test", "e@forced.test"}, "x")
				m.id = "ID"
				m.attempts = attempts
				local pieces, rest = router:route(m)
				local got = {}
				for _, p in ipairs(pieces) do
					got[#got + 1] = table.concat(p.envelope.recipients, "+") .. "=" .. tostring(p.envelope.dest_host)
						.. ":" .. tostring(p.envelope.dest_port) .. "/" .. tostring(p.envelope.dest_relayer) .. "/" .. tostring(p.id)
				end
				table.sort(got)
				got[#got + 1] = "rest=" .. (rest and table.concat(rest.envelope.recipients, "+") or "nil")
				RESULTS[#RESULTS + 1] = table.concat(got, " ")
			end
		end)
	`, map[string]any{"RC": rc})
	assert.Equal(t, []any{
		"a@Multi.Test+c@multi.test=mx1.multi.test:25/SMTP/ID b@nomx.test=nomx.test:25/SMTP/ID d@null.test=nil:25/SMTP/ID e@forced.test=f1.test:25/SMTP/ID rest=nodomain",
		"a@Multi.Test+c@multi.test=mx1b.multi.test:25/SMTP/ID b@nomx.test=nomx.test:25/SMTP/ID d@null.test=nil:25/SMTP/ID e@forced.test=f2.test:25/SMTP/ID rest=nodomain",
		"a@Multi.Test+c@multi.test=mx3.multi.test:25/SMTP/ID b@nomx.test=nomx.test:25/SMTP/ID d@null.test=nil:25/SMTP/ID e@forced.test=f2.test:25/SMTP/ID rest=nodomain",
		"a@Multi.Test+c@multi.test=mx1.multi.test:25/SMTP/ID b@nomx.test=nomx.test:25/SMTP/ID d@null.test=nil:25/SMTP/ID e@forced.test=f1.test:25/SMTP/ID rest=nodomain",
	}, out)
}

// MX routing end to end: the exchanger's name resolves through the test
// DNS server too (ratchet.dns defaults point at it), and the message
// reaches the SMTP server behind it. A domain with a null MX bounces.
func TestRoutingMXDelivery(t *testing.T) {
	smtp := peers.StartServer(t)
	rc := startDNS(t,
		"deliver.test. 60 IN MX 10 mail.deliver.test.",
		"mail.deliver.test. 60 IN A 127.0.0.1",
		"plain.test. 60 IN A 127.0.0.1",
		"null.test. 60 IN MX 0 .",
	)
	out := runLuaSetup(t, `
		local h = require "relayhelp"
		require "slimta.routing.mx"
		h.run(function ()
			local router = slimta.routing.mx.new(nil, nil, function () return PORT end)
			local m = h.message("a@x.test", {"one@deliver.test", "two@plain.test", "three@null.test"}, "Subject: mx\n\nvia mx\n")
			local pieces = router:route(m)
			table.sort(pieces, function (a, b) return a.envelope.recipients[1] < b.envelope.recipients[1] end)
			local rs = h.relay({SMTP = slimta.relay.smtp.new("relay.test")}, pieces)
			RESULTS = h.plain(rs)
		end)
	`, map[string]any{"PORT": smtp.Port}, withResolvConf(rc))
	rs := responses(t, out)
	require.Len(t, rs, 3)
	assert.Equal(t, "250", rs[0].Code, rs[0].Message) // one@deliver.test
	assert.Equal(t, "550", rs[1].Code, rs[1].Message) // three@null.test
	assert.Contains(t, rs[1].Message, "5.1.2")
	assert.Equal(t, "250", rs[2].Code, rs[2].Message) // two@plain.test: no MX, A record
	var to []string
	for _, m := range smtp.Messages() {
		to = append(to, m.To...)
	}
	assert.ElementsMatch(t, []string{"one@deliver.test", "two@plain.test"}, to)
}

// dispatch merges split and partial results into one response per message
// and re-queues or bounces the recipients that need it.
func TestRoutingDispatch(t *testing.T) {
	srv := peers.StartServer(t)
	srv.OnRcpt(func(to string) error {
		switch {
		case strings.HasPrefix(to, "bad"):
			return peers.Reply(550, "5.1.1 no such user")
		case strings.HasPrefix(to, "temp"):
			return peers.Reply(451, "4.2.0 try later")
		}
		return nil
	})
	out := runLua(t, `
		local h = require "relayhelp"
		require "slimta.storage.memory"
		require "slimta.routing.mx"
		require "slimta.routing.dispatch"
		h.run(function ()
			local storage = slimta.storage.memory.new()
			local router = slimta.routing.mx.new(nil, nil, function () return PORT end)
			router:set_mx("d1.test", "127.0.0.1")
			router:set_mx("d2.test", "127.0.0.1")
			local logged = 0
			local d = slimta.routing.dispatch.new(router, {storage = storage, log = function () logged = logged + 1 end})
			-- Direct buses: everything runs in this thread.
			local mgr = slimta.relay.new(nil, "SMTP")
			mgr:add_relayer("SMTP", slimta.relay.smtp.new("relay.test"))
			local function m(sender, rcpts)
				local msg = h.message(sender, rcpts, "Subject: d\n\nd\n")
				msg:store(storage)
				return msg
			end
			local msgs = {
				m("s1@x.test", {"good@d1.test", "bad@d1.test"}),
				m("s2@x.test", {"good@d1.test", "temp@d1.test"}),
				m("s3@x.test", {"good@d1.test", "temp@d2.test", "bad@d2.test"}),
				m("", {"good@d1.test", "bad@d2.test"}),
				m("s5@x.test", {"bad@d1.test", "bad2@d2.test"}),
				m("s6@x.test", {"good@d1.test", "good@d2.test"}),
				m("s7@x.test", {"local-only"}),
			}
			local rs = d:bus(mgr:direct_bus()):send_request(msgs):recv_response()
			RESULTS = {responses = h.plain(rs), logged = logged, stored = {}}
			for _, id in ipairs(storage:get_all_messages()) do
				local meta = storage:get_message_meta(id)
				local rcpts = meta.recipients:gsub("%z", " ")
				RESULTS.stored[#RESULTS.stored + 1] = "<" .. meta.sender .. ">" .. rcpts
			end
			table.sort(RESULTS.stored)
		end)
	`, map[string]any{"PORT": srv.Port})
	m := out.(map[string]any)
	assert.Equal(t, 7.0, m["logged"])
	rs := responses(t, m["responses"])
	require.Len(t, rs, 7)
	codes := make([]string, len(rs))
	for i, r := range rs {
		codes[i] = r.Code
	}
	assert.Equal(t, []string{"250", "451", "451", "250", "550", "250", "550"}, codes)
	// Stored afterwards: the original messages (the queue deletes or
	// retries them later), with the recipients still to try; bounces for
	// the permanent failures of s1 and s3 (not for the null sender's).
	assert.Equal(t, []any{
		"<> good@d1.test bad@d2.test",
		"<> s1@x.test",
		"<> s3@x.test",
		"<s1@x.test> good@d1.test bad@d1.test",
		"<s2@x.test> temp@d1.test",
		"<s3@x.test> temp@d2.test",
		"<s5@x.test> bad@d1.test bad2@d2.test",
		"<s6@x.test> good@d1.test good@d2.test",
		"<s7@x.test> local-only",
	}, m["stored"])
}
