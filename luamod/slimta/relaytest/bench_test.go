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
func BenchmarkRelaySMTP(b *testing.B) {
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
			for i = 1, N do
				local env = slimta.message.envelope.new("s@bench.test", {"r@bench.test"}, "SMTP", "127.0.0.1", PORT)
				local m = slimta.message.new(client, env, slimta.message.contents.new(data), os.time())
				local r = bus:send_request({m}):recv_response()[1]
				assert(r.code == "250", r.message)
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
