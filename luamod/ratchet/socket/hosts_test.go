package socket

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHosts(t *testing.T) {
	tbl := parseHosts([]byte("127.0.0.1 localhost\n::1 localhost ip6-localhost # comment\n" +
		"10.0.0.1\tMail.Example.COM. mail\n# 10.0.0.9 commented\nbogus line\n10.0.0.2 mail\n::ffff:10.0.0.3 mapped"))
	require.Equal(t, "10.0.0.1", tbl["mail.example.com"][0].String())
	require.Len(t, tbl["mail"], 2)
	require.Equal(t, "10.0.0.2", tbl["mail"][1].String())
	require.Len(t, tbl["localhost"], 2)
	require.True(t, tbl["mapped"][0].Is4(), "v4-mapped entries count as IPv4")
	require.NotContains(t, tbl, "commented")
	require.NotContains(t, tbl, "line")
}

func FuzzParseHosts(f *testing.F) {
	f.Add([]byte("127.0.0.1 localhost\n::1 localhost ip6-localhost\n"))
	f.Add([]byte("# only a comment\n\n10.1.2.3 a b c # trailing\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl := parseHosts(data)
		for name, addrs := range tbl {
			if name == "" || name != strings.ToLower(name) || strings.HasSuffix(name, ".") {
				t.Fatalf("bad name %q", name)
			}
			if strings.ContainsAny(name, " \t\n#") {
				t.Fatalf("name with separator %q", name)
			}
			for _, a := range addrs {
				if !a.IsValid() || a.Is4In6() {
					t.Fatalf("bad address %v for %q", a, name)
				}
			}
		}
	})
}
