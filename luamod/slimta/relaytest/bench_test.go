package relaytest_test

import (
	"context"
	"testing"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/slimta/relaytest/peers"
	lua "github.com/yuin/gopher-lua"
)

// BenchmarkRelaySMTP measures one message through the relay manager
// (direct bus), slimta.relay.smtp and a pooled connection into smtp-sink
// (or the in-process go-smtp server when smtp-sink is missing).
//
//	go test -run - -bench RelaySMTP ./luamod/slimta/relaytest/
func BenchmarkRelaySMTP(b *testing.B) { benchRelay(b, 1) }

// BenchmarkRelaySMTPBatch16 sends 16 messages per relay request: one
// session delivers them one after the other over the pooled connection.
func BenchmarkRelaySMTPBatch16(b *testing.B) { benchRelay(b, 16) }

func benchRelay(b *testing.B, batch int) {
	port := 0
	if sinkAvailable() {
		port = peers.StartSink(b, false).Port
	} else {
		port = peers.StartServer(b).Port
	}
	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	L.SetGlobal("PORT", lua.LNumber(port))
	L.SetGlobal("N", lua.LNumber(b.N))
	L.SetGlobal("BATCH", lua.LNumber(batch))
	b.ResetTimer()
	err := rt.RunString(context.Background(), `
		require "ratchet"
		require "slimta.relay"
		ratchet.new(function ()
			local relayer = slimta.relay.smtp.new("bench.test")
			relayer:set_reuse(30)
			local mgr = slimta.relay.new(nil, "SMTP")
			mgr:add_relayer("SMTP", relayer)
			local bus = mgr:direct_bus()
			local client = slimta.message.client.new("ESMTP", "bench", "127.0.0.1", "none", "bench.test")
			local data = "Subject: bench\r\n\r\n" .. string.rep("0123456789", 50) .. "\r\n"
			local sent = 0
			while sent < N do
				local msgs = {}
				for i = 1, math.min(BATCH, N - sent) do
					local env = slimta.message.envelope.new("s@bench.test", {"r@bench.test"}, "SMTP", "127.0.0.1", PORT)
					msgs[i] = slimta.message.new(client, env, slimta.message.contents.new(data), os.time())
				end
				local rs = bus:send_request(msgs):recv_response()
				for i = 1, #msgs do
					assert(rs[i].code == "250", rs[i].message)
				end
				sent = sent + #msgs
			end
			relayer:close_idle(0)
		end):loop()
	`, "bench")
	if err != nil {
		b.Fatal(err)
	}
}

func sinkAvailable() bool {
	_, err := osStat(peers.SmtpSinkPath)
	return err == nil
}
