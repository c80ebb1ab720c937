package dns_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/dns"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/dns/dnstest"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestLuaScripts runs testdata/*.lua with globals pointing at a loopback
// DNS server: RESOLV_CONF (a resolv.conf naming it), HOSTS (a hosts file)
// MISSING (a path that does not exist) and PORT (a free TCP port).
func TestLuaScripts(t *testing.T) {
	srv, err := dnstest.StartTestServer(
		"host.test. 60 IN A 192.0.2.1",
		"host.test. 60 IN A 192.0.2.2",
		"host.test. 60 IN AAAA 2001:db8::1",
		"mail.test. 60 IN MX 20 mx3.mail.test.",
		"mail.test. 60 IN MX 10 mx1.mail.test.",
		"mail.test. 60 IN MX 20 mx4.mail.test.",
		"mail.test. 60 IN MX 10 mx2.mail.test.",
		"mail.test. 60 IN MX 30 mx5.mail.test.",
		"null.test. 60 IN MX 0 .",
		"zero.test. 60 IN MX 5 b.zero.test.",
		"zero.test. 60 IN MX 0 a.zero.test.",
		"2.2.0.192.in-addr.arpa. 60 IN PTR host.test.",
		"txt.test. 60 IN TXT \"hello \" \"world\"",
		"test. 60 IN SOA ns1.test. admin.test. 7 3600 600 86400 300",
		"_smtp._tcp.test. 60 IN SRV 10 5 25 mail.test.",
		"ssh.test. 60 IN SSHFP 2 1 0123456789ABCDEF0123456789ABCDEF01234567",
		"ssh256.test. 60 IN SSHFP 1 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
	)
	require.NoError(t, err)
	defer srv.Close()
	srv.Silence("silent.test.")
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	require.NoError(t, os.WriteFile(rc, []byte(srv.ResolvConf("options timeout:1 attempts:1")), 0o644))
	hosts := filepath.Join(dir, "hosts")
	require.NoError(t, os.WriteFile(hosts, []byte("192.0.2.77 filehost.test filehost\n::1 localhost\n"), 0o644))

	files, err := filepath.Glob("testdata/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			L := rt.State()
			L.SetGlobal("RESOLV_CONF", lua.LString(rc))
			L.SetGlobal("HOSTS", lua.LString(hosts))
			L.SetGlobal("MISSING", lua.LString(filepath.Join(dir, "missing")))
			L.SetGlobal("PORT", lua.LNumber(freePort(t)))
			// Nothing may reach the system's DNS server from a test: the
			// defaults point at the test server too, and DNS_QUERIES lets
			// scripts check that local answers sent nothing at all.
			conf, err := dns.LoadResolvConf([]string{rc})
			require.NoError(t, err)
			dns.SetDefaults(L, conf, nil)
			rt.Register("DNS_QUERIES", func(L *lua.LState) int {
				L.Push(lua.LNumber(srv.Queries()))
				return 1
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rt.RunFile(ctx, f); err != nil {
				if le, ok := err.(*slimtalua.Error); ok {
					t.Fatalf("%s\n%s", le.Message, le.Traceback)
				}
				t.Fatal(err)
			}
		})
	}
}

// Lookup is the Go entry point other native modules use: same local rules,
// and the calling thread alone waits for the server.
func TestLookupFromThread(t *testing.T) {
	srv, err := dnstest.StartTestServer("host.test. 60 IN A 192.0.2.1")
	require.NoError(t, err)
	defer srv.Close()
	rt := slimtalua.New()
	defer rt.Close()
	conf := dns.NewResolvConf()
	conf.Parse([]byte(srv.ResolvConf("options timeout:1 attempts:1")))
	dns.SetDefaults(rt.State(), conf, nil)
	rt.Register("GO_LOOKUP", func(L *lua.LState) int {
		ans, err := dns.Lookup(L, L.CheckString(1), dns.TypeA)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(lua.LString(ans.Addrs[0].String()))
		return 1
	})
	err = rt.RunString(context.Background(), `
		require "ratchet"
		local ticks = 0
		ratchet.new(function ()
			ratchet.thread.attach(function ()
				assert(GO_LOOKUP("host.test") == "192.0.2.1")
				assert(GO_LOOKUP("localhost") == "127.0.0.1")
				assert(select(2, GO_LOOKUP("none.test")) == "none.test has no A record")
			end)
			ratchet.thread.attach(function () ratchet.thread.timer(0); ticks = ticks + 1 end)
		end):loop()
		assert(ticks == 1)
	`, "lookup")
	require.NoError(t, err)
}
