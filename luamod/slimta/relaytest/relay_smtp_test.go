package relaytest_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Three messages to one destination: one connection, EHLO once, pipelined
// transactions, byte-exact data (LF -> CRLF, dot stuffing incl. a leading
// dot), the null sender.
func TestRelaySMTPDelivers(t *testing.T) {
	srv := peers.StartServer(t)
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			local msgs = {
				h.message("a@x.test", {"r1@y.test", "r2@y.test"}, ".first\nSubject: one\n\n.leading dot\nline\n..two\n", "127.0.0.1", PORT, "SMTP"),
				h.message("", {"r3@y.test"}, "Subject: two\r\n\r\nbody", "127.0.0.1", PORT, "SMTP"),
				h.message("b@x.test", {"r4@y.test"}, "Subject: three\r\n\r\n.\r\nafter a lone dot\r\n", "127.0.0.1", PORT, "SMTP"),
			}
			RESULTS = h.plain(h.relay({SMTP = relayer}, msgs))
		end)
	`, map[string]any{"PORT": srv.Port})
	rs := responses(t, out)
	require.Len(t, rs, 3)
	for _, r := range rs {
		assert.Equal(t, "250", r.Code)
		assert.NotEmpty(t, r.Message)
	}
	msgs := srv.Messages()
	require.Len(t, msgs, 3)
	total, _ := srv.Connections()
	assert.Equal(t, 1, total, "one connection for one destination")
	assert.Equal(t, "relay.test", msgs[0].EHLO)
	assert.Equal(t, "a@x.test", msgs[0].From)
	assert.Equal(t, []string{"r1@y.test", "r2@y.test"}, msgs[0].To)
	assert.Equal(t, "", msgs[1].From)
	assert.Equal(t, "Subject: two\r\n\r\nbody\r\n", string(msgs[1].Data))
	assert.Contains(t, string(msgs[0].Data), "\r\n.leading dot\r\nline\r\n..two\r\n")
	assert.True(t, strings.HasPrefix(string(msgs[0].Data), ".first") || strings.Contains(string(msgs[0].Data), ".first"),
		"a leading dot must survive: %q", msgs[0].Data)
	assert.Equal(t, "Subject: three\r\n\r\n.\r\nafter a lone dot\r\n", string(msgs[2].Data))
}

// Per-recipient results, MAIL refusals and RSET after a failed transaction.
func TestRelaySMTPRecipientResults(t *testing.T) {
	srv := peers.StartServer(t)
	srv.OnMail(func(from string) error {
		if from == "spam@x.test" {
			return peers.Reply(550, "5.7.1 go away")
		}
		return nil
	})
	srv.OnRcpt(func(to string) error {
		switch {
		case strings.HasPrefix(to, "bad"):
			return peers.Reply(550, "5.1.1 no such user")
		case strings.HasPrefix(to, "temp"):
			return peers.Reply(451, "4.2.0 mailbox busy")
		}
		return nil
	})
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			local function m(sender, rcpts) return h.message(sender, rcpts, "Subject: x\n\nx\n", "127.0.0.1", PORT, "SMTP") end
			local msgs = {
				m("a@x.test", {"good@y.test", "bad@y.test", "temp@y.test"}),
				m("a@x.test", {"bad@y.test"}),
				m("a@x.test", {"bad@y.test", "temp@y.test"}),
				m("spam@x.test", {"good@y.test"}),
				m("a@x.test", {"good2@y.test"}),
			}
			-- relay_done reports messages delivered to every recipient
			-- (slimta.queue deletes them before a batch ends)
			local done = {}
			for i, msg in ipairs(msgs) do
				msg.relay_done = function (delivered, r)
					done[#done + 1] = i .. (delivered == msg and ":" or "?") .. r.code
				end
			end
			RESULTS = h.plain(h.relay({SMTP = relayer}, msgs))
			assert(table.concat(done, ",") == "5:250", table.concat(done, ","))
		end)
	`, map[string]any{"PORT": srv.Port})
	rs := responses(t, out)
	require.Len(t, rs, 5)
	assert.Equal(t, "250", rs[0].Code)
	assert.Equal(t, []failure{
		{"bad@y.test", "550", "5.1.1 no such user"},
		{"temp@y.test", "451", "4.2.0 mailbox busy"},
	}, rs[0].Failures)
	assert.Equal(t, "550", rs[1].Code)
	assert.Equal(t, "5.1.1 no such user", rs[1].Message)
	assert.Equal(t, "451", rs[2].Code, "a temporary refusal wins when nobody was accepted")
	assert.Len(t, rs[2].Failures, 2)
	assert.Equal(t, "550", rs[3].Code)
	assert.Equal(t, "5.7.1 go away", rs[3].Message)
	assert.Equal(t, "250", rs[4].Code, "RSET after the failures keeps the connection usable")
	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, []string{"good@y.test"}, msgs[0].To)
	assert.Equal(t, []string{"good2@y.test"}, msgs[1].To)
	total, _ := srv.Connections()
	assert.Equal(t, 1, total)
}

// A destination that hangs, resets, talks garbage, drops the data or is
// not there answers 4xx within the time limits, and does not hold up the
// delivery to a healthy destination in the same request.
func TestRelaySMTPBadTargets(t *testing.T) {
	good := peers.StartServer(t)
	for _, kind := range []string{"hang", "reset", "garbage", "close-data", "hang-data", "refused"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			port := 0
			if kind == "refused" {
				port = peers.FreePort(t)
			} else {
				port = peers.StartBad(t, kind).Port
			}
			start := time.Now()
			out := runLua(t, `
				local h = require "relayhelp"
				h.run(function ()
					local relayer = slimta.relay.smtp.new("relay.test")
					relayer:set_timeouts({connect = 1, command = 1, data = 1, total = 3})
					local msgs = {
						h.message("a@x.test", {"r1@y.test"}, "Subject: 1\n\n1\n", "127.0.0.1", BAD, "SMTP"),
						h.message("a@x.test", {"r2@y.test"}, "Subject: 2\n\n2\n", "127.0.0.1", BAD, "SMTP"),
						h.message("a@x.test", {"r3@y.test"}, "Subject: 3\n\n3\n", "127.0.0.1", GOOD, "SMTP"),
					}
					RESULTS = h.plain(h.relay({SMTP = relayer}, msgs))
				end)
			`, map[string]any{"BAD": port, "GOOD": good.Port})
			rs := responses(t, out)
			require.Len(t, rs, 3)
			for _, r := range rs[:2] {
				assert.Equal(t, "4", r.Code[:1], "got %s %s", r.Code, r.Message)
			}
			assert.Equal(t, "250", rs[2].Code)
			t.Logf("%s: %s %s (%.1fs)", kind, rs[0].Code, rs[0].Message, time.Since(start).Seconds())
		})
	}
}

// At most max_connections sessions run at once per destination; the rest
// wait for a slot.
func TestRelaySMTPConcurrencyLimit(t *testing.T) {
	srv := peers.StartServer(t)
	// Concurrency is measured inside DATA: a connection's close (and the
	// server's bookkeeping of it) may trail the next connect slightly.
	var inData, calls, maxData atomic.Int32
	srv.OnData(func(*peers.Message) error {
		calls.Add(1)
		n := inData.Add(1)
		for {
			m := maxData.Load()
			if n <= m || maxData.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		inData.Add(-1)
		return nil
	})
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			relayer:set_max_connections(2)
			local srv, cli = slimta.bus.new_local()
			local mgr = slimta.relay.new(srv)
			mgr:add_relayer("SMTP", relayer)
			ratchet.thread.attach(function ()
				for i = 1, 6 do ratchet.thread.attach(mgr:accept()) end
			end)
			local threads, results = {}, {}
			for i = 1, 6 do
				threads[i] = ratchet.thread.attach(function ()
					local m = h.message("a@x.test", {"r" .. i .. "@y.test"}, "Subject: x\n\nx\n", "127.0.0.1", PORT, "SMTP")
					results[i] = cli:send_request({m}):recv_response()[1]
				end)
			end
			ratchet.thread.wait_all(threads)
			RESULTS = h.plain(results)
		end)
	`, map[string]any{"PORT": srv.Port})
	rs := responses(t, out)
	require.Len(t, rs, 6)
	for _, r := range rs {
		assert.Equal(t, "250", r.Code)
	}
	total, _ := srv.Connections()
	assert.Equal(t, 6, total)
	assert.Equal(t, int32(2), maxData.Load(), "two deliveries at a time")
	assert.Equal(t, int32(6), calls.Load())
}

// With set_reuse, later requests use the pooled connection; a pooled
// connection that the server closed meanwhile is replaced transparently.
func TestRelaySMTPConnectionReuse(t *testing.T) {
	srv := peers.StartServer(t, peers.Options{ReadTimeout: 400 * time.Millisecond})
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			relayer:set_reuse(30)
			local results = {}
			local function one(i)
				local m = h.message("a@x.test", {"r" .. i .. "@y.test"}, "Subject: x\n\nx\n", "127.0.0.1", PORT, "SMTP")
				results[#results + 1] = h.relay({SMTP = relayer}, {m})[1]
			end
			one(1); one(2); one(3)
			ratchet.thread.timer(1.0)   -- the server drops the idle connection
			one(4)
			relayer:close_idle(0)
			RESULTS = h.plain(results)
		end)
	`, map[string]any{"PORT": srv.Port})
	rs := responses(t, out)
	require.Len(t, rs, 4)
	for _, r := range rs {
		assert.Equal(t, "250", r.Code, r.Message)
	}
	msgs := srv.Messages()
	require.Len(t, msgs, 4)
	assert.Equal(t, msgs[0].Conn, msgs[2].Conn, "the first three share a connection")
	assert.NotEqual(t, msgs[0].Conn, msgs[3].Conn, "the stale connection was replaced")
}

// STARTTLS is used when offered, not when disabled; a required
// verification of a self-signed certificate fails with 530.
func TestRelaySMTPStartTLS(t *testing.T) {
	srv := peers.StartServer(t, peers.Options{TLS: true})
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local opportunistic = slimta.relay.smtp.new("relay.test")
			local plain = slimta.relay.smtp.new("relay.test")
			plain:use_security(nil)
			local strict = slimta.relay.smtp.new("relay.test")
			strict:use_security("starttls", nil, true)
			local results = {}
			local m1 = h.message("a@x.test", {"tls@y.test"}, "Subject: x\n\nx\n", "127.0.0.1", PORT, "TLS")
			local m2 = h.message("a@x.test", {"plain@y.test"}, "Subject: x\n\nx\n", "127.0.0.1", PORT, "PLAIN")
			local m3 = h.message("a@x.test", {"strict@y.test"}, "Subject: x\n\nx\n", "localhost", PORT, "STRICT")
			RESULTS = h.plain(h.relay({TLS = opportunistic, PLAIN = plain, STRICT = strict}, {m1, m2, m3}))
		end)
	`, map[string]any{"PORT": srv.Port})
	rs := responses(t, out)
	require.Len(t, rs, 3)
	assert.Equal(t, "250", rs[0].Code, rs[0].Message)
	assert.Equal(t, "250", rs[1].Code, rs[1].Message)
	assert.Equal(t, "530", rs[2].Code, rs[2].Message)
	byRcpt := map[string]peers.Message{}
	for _, m := range srv.Messages() {
		byRcpt[m.To[0]] = m
	}
	assert.True(t, byRcpt["tls@y.test"].TLS, "opportunistic STARTTLS")
	assert.False(t, byRcpt["plain@y.test"].TLS, "TLS disabled")
	assert.NotContains(t, byRcpt, "strict@y.test")
}

// Messages without a destination, for unknown relayers, or whose relayer
// fails still get exactly one response each.
func TestRelayManagerAlwaysAnswers(t *testing.T) {
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local calls = {}
			local function fake(name, behaviour)
				local r = {}
				function r:build_session_info(m) return m.envelope.dest_host or "none", {host = m.envelope.dest_host} end
				function r:new_session(info)
					if behaviour == "new_session_raises" then error("boom") end
					local s = {items = {}}
					function s:add_message(m, responses, i)
						responses[i] = slimta.message.response.new()
						self.items[#self.items + 1] = responses[i]
					end
					function s:relay_all()
						calls[#calls + 1] = name .. ":" .. tostring(info.host)
						if behaviour == "relay_raises" then error({"452", "4.3.1 fake full"}) end
						if behaviour == "silent" then return end
						ratchet.thread.timer(0.05)
						for _, r in ipairs(self.items) do r.code, r.message = "250", "2.0.0 " .. name end
					end
					return s
				end
				return r
			end
			local smtp = slimta.relay.smtp.new("x")
			local m = function (relayer, host) return h.message("a@x.test", {"b@y.test"}, "x", host, 25, relayer) end
			local msgs = {
				m("A", "h1"), m("A", "h2"), m("A", "h1"),
				m("NOPE", "h1"),
				m("RAISE", "h1"),
				m("BROKEN", "h1"),
				m("SILENT", "h1"),
				m("SMTP", nil),
				m(nil, "h3"),
			}
			local rs = h.relay({A = fake("A"), RAISE = fake("RAISE", "relay_raises"),
				BROKEN = fake("BROKEN", "new_session_raises"), SILENT = fake("SILENT", "silent"),
				SMTP = smtp}, msgs, "A")
			RESULTS = h.plain(rs)
			table.sort(calls)
			RESULTS.calls = table.concat(calls, ",")
		end)
	`, nil)
	m := out.(map[string]any)
	assert.Equal(t, "A:h1,A:h2,A:h3,RAISE:h1,SILENT:h1", m["calls"], "one session per (relayer, key)")
	get := func(i int) resp {
		r := m[string(rune('0'+i))]
		if r == nil {
			// fromLua turned the mixed table into a map keyed by "1".."9"
			t.Fatalf("missing response %d in %#v", i, m)
		}
		mm := r.(map[string]any)
		return resp{Code: str(mm["code"]), Message: str(mm["message"])}
	}
	for _, i := range []int{1, 2, 3, 9} {
		assert.Equal(t, "250", get(i).Code, "message %d", i)
	}
	assert.Equal(t, "451", get(4).Code)
	assert.Contains(t, get(4).Message, "4.3.5")
	assert.Equal(t, "452", get(5).Code, "a {code, message} error becomes the response")
	assert.Equal(t, "451", get(6).Code)
	assert.Equal(t, "451", get(7).Code, "responses left empty are filled in")
	assert.Equal(t, "550", get(8).Code, "no destination for SMTP")
	assert.Contains(t, get(8).Message, "5.1.2")
}

// Relaying into Postfix's smtp-sink: several requests, several messages;
// with and without PIPELINING (smtp-sink -p).
func TestRelaySMTPIntoSmtpSink(t *testing.T) {
	for _, extra := range [][]string{nil, {"-p"}} {
		t.Run(strings.Join(append([]string{"sink"}, extra...), ""), func(t *testing.T) {
			relayIntoSink(t, extra...)
		})
	}
}

func relayIntoSink(t *testing.T, extra ...string) {
	sink := peers.StartSink(t, true, extra...)
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			relayer:set_reuse(5)
			local all = {}
			for batch = 1, 4 do
				local msgs = {}
				for i = 1, 5 do
					local n = (batch - 1) * 5 + i
					msgs[i] = h.message("s@x.test", {"r" .. n .. "@y.test"},
						"Message-Id: <" .. n .. "@test>\nSubject: " .. n .. "\n\nbody " .. n .. "\n", "127.0.0.1", PORT, "SMTP")
				end
				for _, r in ipairs(h.relay({SMTP = relayer}, msgs)) do all[#all + 1] = r end
			end
			relayer:close_idle(0)
			RESULTS = h.plain(all)
		end)
	`, map[string]any{"PORT": sink.Port})
	rs := responses(t, out)
	require.Len(t, rs, 20)
	for _, r := range rs {
		assert.Equal(t, "250", r.Code, r.Message)
	}
	dumps := sink.WaitDumps(t, 20, 5*time.Second)
	seen := map[string]int{}
	for _, d := range dumps {
		for _, v := range peers.HeaderValues(d, "Message-Id") {
			seen[v]++
		}
	}
	assert.Len(t, seen, 20)
}

// set_trust_raw_data sends the text of the contents' last serialisation;
// contents never serialised are serialised as usual.
func TestRelaySMTPTrustRawData(t *testing.T) {
	srv := peers.StartServer(t)
	out := runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			relayer:set_trust_raw_data(true)
			local m1 = h.message("a@x.test", {"one@y.test"}, "Subject: one\n\nbody one\n", "127.0.0.1", PORT, "SMTP")
			m1.contents:add_header("X-Stamp", "stamped")
			local text = tostring(m1.contents)
			-- Prove the stored text is what goes out.
			text = text:gsub("body one", "raw text")
			m1.contents.raw_data = text
			local m2 = h.message("a@x.test", {"two@y.test"}, "Subject: two\n\nbody two\n", "127.0.0.1", PORT, "SMTP")
			RESULTS = h.plain(h.relay({SMTP = relayer}, {m1, m2}))
			RESULTS.text = text
		end)
	`, map[string]any{"PORT": srv.Port})
	m := out.(map[string]any)
	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	crlf := strings.ReplaceAll(strings.ReplaceAll(m["text"].(string), "\r\n", "\n"), "\n", "\r\n")
	assert.Equal(t, crlf, string(msgs[0].Data))
	assert.Equal(t, "Subject: two\r\n\r\nbody two\r\n", string(msgs[1].Data))
}

// Several messages to one destination share a pipelined session: each
// message's contents go out with the next one's MAIL/RCPT/DATA, and every
// final reply (including refusals and a 421 that ends the connection) is
// still given to its own message.
func TestRelaySMTPPipelinedFinalReplies(t *testing.T) {
	srv := peers.StartServer(t)
	srv.OnData(func(m *peers.Message) error {
		switch m.From {
		case "temp@x.test":
			return peers.Reply(451, "4.3.0 try later")
		case "perm@x.test":
			return peers.Reply(554, "5.6.0 rejected")
		case "bye@x.test":
			return peers.Reply(421, "4.3.2 shutting down")
		}
		return nil
	})
	runLua(t, `
		local h = require "relayhelp"
		h.run(function ()
			local relayer = slimta.relay.smtp.new("relay.test")
			local senders = {"ok1@x.test", "temp@x.test", "ok2@x.test", "perm@x.test",
				"ok3@x.test", "bye@x.test", "ok4@x.test"}
			local msgs, done = {}, {}
			for i, s in ipairs(senders) do
				msgs[i] = h.message(s, {"r@y.test"}, "Subject: " .. i .. "\r\n\r\nbody\r\n", "127.0.0.1", PORT, "SMTP")
				msgs[i].relay_done = function (m, r)
					done[#done + 1] = i
				end
			end
			local rs = h.relay({SMTP = relayer}, msgs)
			local codes = {}
			for i, r in ipairs(rs) do
				codes[i] = r.code
			end
			assert(table.concat(codes, " ") == "250 451 250 554 250 421 250", table.concat(codes, " "))
			assert(table.concat(done, " ") == "1 3 5 7", table.concat(done, " "))
		end)
	`, map[string]any{"PORT": srv.Port})
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, m.From)
	}
	assert.Equal(t, []string{"ok1@x.test", "ok2@x.test", "ok3@x.test", "ok4@x.test"}, got)
	total, _ := srv.Connections()
	assert.Equal(t, 2, total, "a new connection after the 421")
}
