package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/dns/dnstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func longTXT(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteByte(byte('a' + i%26))
	}
	return b.String()[:n]
}

// txtRR builds a TXT record with raw character-strings of at most 255 bytes.
func txtRR(name, data string) mdns.RR {
	rr := &mdns.TXT{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 60}}
	for len(data) > 0 {
		n := min(len(data), 255)
		rr.Txt = append(rr.Txt, escapeTXT(data[:n]))
		data = data[n:]
	}
	return rr
}

// escapeTXT gives the presentation form miekg/dns keeps TXT strings in.
func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func startServer(t *testing.T) *dnstest.TestServer {
	t.Helper()
	s, err := dnstest.StartTestServer(
		"host.test. 60 IN A 192.0.2.1",
		"host.test. 60 IN A 192.0.2.2",
		"host.test. 60 IN AAAA 2001:db8::1",
		"mail.test. 60 IN MX 20 mx3.mail.test.",
		"mail.test. 60 IN MX 10 mx1.mail.test.",
		"mail.test. 60 IN MX 20 mx4.mail.test.",
		"mail.test. 60 IN MX 10 mx2.mail.test.",
		"2.0.0.192.in-addr.arpa. 60 IN PTR host.test.",
		"test. 60 IN NS ns1.test.",
		"test. 60 IN SOA ns1.test. admin.test. 2024010101 3600 600 86400 300",
		"_smtp._tcp.test. 60 IN SRV 10 5 25 mail.test.",
		"alias.test. 60 IN CNAME host.test.",
		"spf.test. 60 IN SPF \"v=spf1 -all\"",
		"ssh.test. 60 IN SSHFP 1 1 0123456789ABCDEF0123456789ABCDEF01234567",
		"ssh256.test. 60 IN SSHFP 1 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		"empty.test. 60 IN A 192.0.2.9",
		"inner.search.test. 60 IN A 192.0.2.7",
	)
	require.NoError(t, err)
	s.AddRR(txtRR("txt.test.", "hello"))
	s.AddRR(txtRR("bigtxt.test.", longTXT(2000)))
	s.AddRR(txtRR("hugetxt.test.", longTXT(6000)))
	s.AddRR(txtRR("bin.test.", "a\x00b\"c\\d\xff"))
	s.Silence("silent.test.")
	s.Fail("broken.test.")
	t.Cleanup(s.Close)
	return s
}

func testResolver(t *testing.T, s *dnstest.TestServer, extra ...string) *Resolver {
	c := NewResolvConf()
	c.Parse([]byte(s.ResolvConf(append([]string{"options timeout:1 attempts:1"}, extra...)...)))
	return &Resolver{Conf: c, Hosts: &Hosts{}, Expire: 3 * time.Second}
}

func TestNetworkAnswers(t *testing.T) {
	s := startServer(t)
	r := testResolver(t, s)
	ctx := context.Background()
	cases := []struct {
		name  string
		qtype uint16
		check func(t *testing.T, a *Answer)
	}{
		{"host.test", mdns.TypeA, func(t *testing.T, a *Answer) {
			assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}, a.Addrs)
		}},
		{"host.test", mdns.TypeAAAA, func(t *testing.T, a *Answer) {
			assert.Equal(t, []netip.Addr{netip.MustParseAddr("2001:db8::1")}, a.Addrs)
		}},
		{"alias.test", mdns.TypeA, func(t *testing.T, a *Answer) {
			assert.Len(t, a.Addrs, 0) // only the CNAME came back: see the negative case below
		}},
		{"alias.test", mdns.TypeCNAME, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"host.test."}, a.Names)
		}},
		{"mail.test", mdns.TypeMX, func(t *testing.T, a *Answer) {
			require.Len(t, a.MX, 4)
			assert.Equal(t, MX{20, "mx3.mail.test."}, a.MX[0])
			assert.Equal(t, []uint16{10, 20}, SortedPriorities(a.MX))
		}},
		{"192.0.0.2", mdns.TypePTR, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"host.test."}, a.Names)
		}},
		{"2.0.0.192.in-addr.arpa", mdns.TypePTR, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"host.test."}, a.Names)
		}},
		{"test", mdns.TypeNS, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"ns1.test."}, a.Names)
		}},
		{"test", mdns.TypeSOA, func(t *testing.T, a *Answer) {
			assert.Equal(t, []SOA{{"ns1.test.", "admin.test.", 2024010101, 3600, 600, 86400, 300}}, a.SOA)
		}},
		{"_smtp._tcp.test", mdns.TypeSRV, func(t *testing.T, a *Answer) {
			assert.Equal(t, []SRV{{10, 5, 25, "mail.test."}}, a.SRV)
		}},
		{"txt.test", mdns.TypeTXT, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"hello"}, a.Texts)
		}},
		{"bigtxt.test", mdns.TypeTXT, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{longTXT(2000)}, a.Texts)
		}},
		{"hugetxt.test", mdns.TypeTXT, func(t *testing.T, a *Answer) { // truncated over UDP, retried over TCP
			assert.Equal(t, []string{longTXT(6000)}, a.Texts)
		}},
		{"bin.test", mdns.TypeTXT, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"a\x00b\"c\\d\xff"}, a.Texts)
		}},
		{"spf.test", mdns.TypeSPF, func(t *testing.T, a *Answer) {
			assert.Equal(t, []string{"v=spf1 -all"}, a.Texts)
		}},
		{"ssh.test", mdns.TypeSSHFP, func(t *testing.T, a *Answer) {
			require.Len(t, a.SSHFP, 1)
			assert.Equal(t, uint8(1), a.SSHFP[0].Algorithm)
			assert.Len(t, a.SSHFP[0].Digest, 20)
			assert.Equal(t, byte(0x01), a.SSHFP[0].Digest[0])
		}},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+TypeName(c.qtype), func(t *testing.T) {
			a, err := r.Query(ctx, c.name, c.qtype)
			if c.name == "alias.test" && c.qtype == mdns.TypeA {
				// The test server does not chase the CNAME: no A record.
				var nr *NoRecordError
				require.ErrorAs(t, err, &nr)
				return
			}
			require.NoError(t, err)
			c.check(t, a)
		})
	}
}

func TestNetworkFailures(t *testing.T) {
	s := startServer(t)
	r := testResolver(t, s)
	ctx := context.Background()

	_, err := r.Query(ctx, "nowhere.test", mdns.TypeA)
	assert.EqualError(t, err, "nowhere.test has no A record")

	_, err = r.Query(ctx, "host.test", mdns.TypeMX)
	assert.EqualError(t, err, "host.test has no MX record")

	_, err = r.Query(ctx, "ssh256.test", mdns.TypeSSHFP)
	assert.ErrorAs(t, err, new(UnsupportedDigestError))

	_, err = r.Query(ctx, "broken.test", mdns.TypeA)
	var rc *RcodeError
	require.ErrorAs(t, err, &rc)
	assert.Equal(t, mdns.RcodeServerFailure, rc.Rcode)

	start := time.Now()
	_, err = r.Query(ctx, "silent.test", mdns.TypeA)
	assert.ErrorIs(t, err, ErrTimedOut)
	assert.Less(t, time.Since(start), 3*time.Second)

	r.Expire = 200 * time.Millisecond
	_, err = r.Query(ctx, "silent.test", mdns.TypeA)
	assert.ErrorIs(t, err, ErrTimedOut)

	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	r.Expire = time.Minute
	r.Conf.Timeout = time.Minute
	_, err = r.Query(cctx, "silent.test", mdns.TypeA)
	assert.True(t, errors.Is(err, ErrTimedOut))
}

func TestSearchList(t *testing.T) {
	s := startServer(t)
	r := testResolver(t, s, "search search.test")
	a, err := r.Query(context.Background(), "inner", mdns.TypeA)
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.7")}, a.Addrs)
	// Fully qualified names do not use the search list.
	_, err = r.Query(context.Background(), "inner.", mdns.TypeA)
	assert.Error(t, err)
}

func TestCandidates(t *testing.T) {
	c := &ResolvConf{Ndots: 1, Search: []string{"a.example", "b.example."}}
	assert.Equal(t, []string{"x.a.example.", "x.b.example.", "x."}, c.candidates("x"))
	assert.Equal(t, []string{"x.y.", "x.y.a.example.", "x.y.b.example."}, c.candidates("x.y"))
	assert.Equal(t, []string{"x.y."}, c.candidates("x.y."))
	c.Ndots = 3
	assert.Equal(t, []string{"x.y.a.example.", "x.y.b.example.", "x.y."}, c.candidates("x.y"))
}

func TestLocalAnswersNeverTouchNetwork(t *testing.T) {
	s := startServer(t)
	r := testResolver(t, s)
	r.Hosts = &Hosts{}
	r.Hosts.Parse([]byte("127.0.0.1 localhost loopy\n::1 localhost ip6-localhost\n192.0.2.50 Files.Test files\n192.0.2.50 second\n"))
	ctx := context.Background()
	cases := []struct {
		name  string
		qtype uint16
		want  []string
		err   string
	}{
		{"localhost", mdns.TypeA, []string{"127.0.0.1"}, ""},
		{"LOCALHOST.", mdns.TypeA, []string{"127.0.0.1"}, ""},
		{"localhost", mdns.TypeAAAA, nil, "localhost has no AAAA record"},
		{"localhost", mdns.TypeMX, nil, "localhost has no MX record"},
		{"*", mdns.TypeA, []string{"0.0.0.0"}, ""},
		{"*", mdns.TypeAAAA, []string{"::"}, ""},
		{"*", mdns.TypeMX, nil, "* has no MX record"},
		{"192.0.2.1", mdns.TypeA, []string{"192.0.2.1"}, ""},
		{"192.0.2.1", mdns.TypeAAAA, nil, "192.0.2.1 has no AAAA record"},
		{"2001:db8::5", mdns.TypeAAAA, []string{"2001:db8::5"}, ""},
		{"[2001:db8::5]", mdns.TypeAAAA, []string{"2001:db8::5"}, ""},
		{"2001:db8::5", mdns.TypeA, nil, "2001:db8::5 has no A record"},
		{"files.test", mdns.TypeA, []string{"192.0.2.50"}, ""},
		{"second", mdns.TypeA, []string{"192.0.2.50"}, ""},
		{"127.0.0.1", mdns.TypePTR, []string{"localhost."}, ""},
		{"1.0.0.127.in-addr.arpa.", mdns.TypePTR, []string{"localhost."}, ""},
		{"::1", mdns.TypePTR, []string{"localhost."}, ""},
		{"192.0.2.50", mdns.TypePTR, []string{"Files.Test.", "second."}, ""},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+TypeName(c.qtype), func(t *testing.T) {
			a, err := r.Query(ctx, c.name, c.qtype)
			if c.err != "" {
				assert.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			var got []string
			if c.qtype == mdns.TypePTR {
				got = a.Names
			} else {
				for _, x := range a.Addrs {
					got = append(got, x.String())
				}
			}
			assert.Equal(t, c.want, got)
		})
	}
	assert.Equal(t, 0, s.Queries(), "local answers must not reach the DNS server")

	// A hosts object the user supplied may give localhost an AAAA answer.
	r.Hosts.Explicit = true
	a, err := r.Query(ctx, "localhost", mdns.TypeAAAA)
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.IPv6Loopback()}, a.Addrs)
}

func TestReverseNames(t *testing.T) {
	for _, s := range []string{"192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "fe80::1:2:3:4"} {
		a := netip.MustParseAddr(s)
		n := ReverseName(a)
		back, ok := ParseReverseName(n)
		require.True(t, ok, n)
		assert.Equal(t, a, back)
		ma, err := mdns.ReverseAddr(s)
		require.NoError(t, err)
		assert.Equal(t, ma, n)
	}
	for _, bad := range []string{"1.2.3.in-addr.arpa", "256.1.1.1.in-addr.arpa", "01.1.1.1.in-addr.arpa", "x.ip6.arpa", "example.com"} {
		_, ok := ParseReverseName(bad)
		assert.False(t, ok, bad)
	}
}

func TestParseResolvConf(t *testing.T) {
	c := NewResolvConf()
	c.Parse([]byte(`# comment
; other comment
nameserver 192.0.2.53
nameserver ::1
nameserver 127.0.0.1#5353
nameserver [::1]:5354
nameserver 127.0.0.2:5355
nameserver bogus
domain ignored.example
search a.example b.example
options ndots:2 timeout:3 attempts:4 rotate unknown:7
options timeout:99
`))
	assert.Equal(t, []string{"192.0.2.53:53", "[::1]:53", "127.0.0.1:5353", "[::1]:5354", "127.0.0.2:5355"}, c.Servers)
	assert.Equal(t, []string{"a.example", "b.example"}, c.Search)
	assert.Equal(t, 2, c.Ndots)
	assert.Equal(t, 30*time.Second, c.Timeout)
	assert.Equal(t, 4, c.Attempts)
	assert.True(t, c.Rotate)
}

func TestParseHosts(t *testing.T) {
	h := &Hosts{}
	h.Parse([]byte("127.0.0.1\tlocalhost\n# comment\n::1 localhost ip6-localhost # tail\nbad line\n10.0.0.1\n192.0.2.1 a b c\n"))
	require.Len(t, h.Entries, 3)
	assert.Equal(t, []string{"a", "b", "c"}, h.Entries[2].Names)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, h.Addrs("B.", 4))
	assert.Empty(t, h.Addrs("b", 6))
}

func TestLoadErrors(t *testing.T) {
	_, err := LoadHosts([]string{"/nonexistent/hosts"})
	assert.EqualError(t, err, "/nonexistent/hosts: no such file or directory")
	_, err = LoadResolvConf([]string{"/nonexistent/resolv.conf"})
	assert.EqualError(t, err, "/nonexistent/resolv.conf: no such file or directory")
}

func TestConcatCharStrings(t *testing.T) {
	s, err := ConcatCharStrings([]byte("\x03abc\x00\x02de"))
	require.NoError(t, err)
	assert.Equal(t, "abcde", s)
	_, err = ConcatCharStrings([]byte("\x05ab"))
	assert.Error(t, err)
}

func FuzzParseResolvConf(f *testing.F) {
	f.Add([]byte("nameserver 127.0.0.1#53\nsearch a b\noptions ndots:3 timeout:1 attempts:2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewResolvConf()
		c.Parse(data)
		for _, s := range c.Servers {
			if _, err := netip.ParseAddrPort(s); err != nil {
				t.Fatalf("bad server %q: %v", s, err)
			}
		}
		if c.Ndots < 0 || c.Ndots > 15 || c.Attempts < 1 || c.Timeout < time.Second {
			t.Fatalf("options out of range: %+v", c)
		}
		_ = c.candidates("x")
	})
}

func FuzzParseHosts(f *testing.F) {
	f.Add([]byte("127.0.0.1 localhost\n::1 localhost ip6-localhost\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &Hosts{}
		h.Parse(data)
		for _, e := range h.Entries {
			if len(e.Names) == 0 || !e.Addr.IsValid() {
				t.Fatalf("bad entry %+v", e)
			}
			_ = h.Names(e.Addr)
			_ = h.Addrs(e.Names[0], 4)
		}
	})
}

func FuzzReverseName(f *testing.F) {
	f.Add("4.3.2.1.in-addr.arpa.")
	f.Add("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
	f.Fuzz(func(t *testing.T, name string) {
		a, ok := ParseReverseName(name)
		if !ok {
			return
		}
		back, ok := ParseReverseName(ReverseName(a))
		if !ok || back != a {
			t.Fatalf("round trip of %q gave %v", name, back)
		}
	})
}

func FuzzCharStrings(f *testing.F) {
	f.Add([]byte("\x03abc\x00\x02de"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ConcatCharStrings(data)
		if err == nil && len(s) > len(data) {
			t.Fatalf("output longer than input")
		}
	})
}

func BenchmarkLocalQuery(b *testing.B) {
	r := &Resolver{Conf: NewResolvConf(), Hosts: &Hosts{}}
	r.Hosts.Parse([]byte("127.0.0.1 localhost\n192.0.2.1 a.test b.test\n"))
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Query(ctx, "b.test", mdns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServerQuery(b *testing.B) {
	s, err := dnstest.StartTestServer("host.test. 60 IN A 192.0.2.1")
	require.NoError(b, err)
	defer s.Close()
	c := NewResolvConf()
	c.Parse([]byte(s.ResolvConf()))
	r := &Resolver{Conf: c, Hosts: &Hosts{}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Query(ctx, "host.test", mdns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}
