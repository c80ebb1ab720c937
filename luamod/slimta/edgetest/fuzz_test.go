package edgetest

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/internal/pcallfix"
	lua "github.com/yuin/gopher-lua"
)

// The AUTH decoders are Lua (slimta.edge.smtp.auth_mechanisms); the fuzz
// targets call them through one runtime and check them against a Go
// reference implementation of the same rules.

var (
	mechOnce sync.Once
	mechMu   sync.Mutex
	mechRT   *slimtalua.Runtime
	mechMod  *lua.LTable
)

func mechanisms(t testing.TB) (*lua.LState, *lua.LTable) {
	mechOnce.Do(func() {
		rt := slimtalua.New()
		L := rt.State()
		if err := L.DoString(`return require "slimta.edge.smtp.auth_mechanisms"`); err != nil {
			panic(err)
		}
		mechMod = L.Get(-1).(*lua.LTable)
		L.Pop(1)
		mechRT = rt
	})
	return mechRT.State(), mechMod
}

// callDecoder calls mechanisms[name](input) and returns its results as
// Go values (nil for Lua nil).
func callDecoder(t testing.TB, name, input string, nret int) []*string {
	mechMu.Lock()
	defer mechMu.Unlock()
	L, mod := mechanisms(t)
	top := L.GetTop()
	L.Push(mod.RawGetString(name))
	L.Push(lua.LString(input))
	if err := pcallfix.PCall(L, 1, nret); err != nil {
		t.Fatalf("%s(%q) raised: %v", name, input, err)
	}
	out := make([]*string, nret)
	for i := 0; i < nret; i++ {
		if s, ok := L.Get(top + 1 + i).(lua.LString); ok {
			v := string(s)
			out[i] = &v
		}
	}
	L.SetTop(top)
	return out
}

// refBase64 mirrors decode_base64: blanks around are ignored, padding is
// optional, the encoding must be canonical.
func refBase64(s string) (string, bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	if s == "" {
		return "", true
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return "", false
		}
	}
	enc := base64.StdEncoding.Strict()
	if !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding.Strict()
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func refPlain(s string) (z, c, p string, ok bool) {
	raw, ok := refBase64(s)
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(raw, "\x00")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func refLogin(s string) (string, bool) {
	raw, ok := refBase64(s)
	if !ok || strings.ContainsAny(raw, "\x00\r\n") {
		return "", false
	}
	return raw, true
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func FuzzAuthPlain(f *testing.F) {
	for _, s := range []string{
		"AHRlc3R1c2VyAHRlc3RwYXNz", "AHRlc3R1c2VyAHNzYXB0c2V0", "=", "",
		base64.StdEncoding.EncodeToString([]byte("z\x00c\x00p")), "dGVzdA", "dGVzdB==", " AAAA \r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := callDecoder(t, "decode_plain", in, 3)
		z, c, p, ok := refPlain(in)
		if ok != (got[0] != nil) {
			t.Fatalf("decode_plain(%q): lua %q/%q/%q, reference ok=%v", in, str(got[0]), str(got[1]), str(got[2]), ok)
		}
		if ok && (*got[0] != z || *got[1] != c || *got[2] != p) {
			t.Fatalf("decode_plain(%q) = %q %q %q, want %q %q %q", in, *got[0], *got[1], *got[2], z, c, p)
		}
	})
}

func FuzzAuthLogin(f *testing.F) {
	for _, s := range []string{"dGVzdHVzZXI=", "dGVzdHBhc3M=", "VXNlcm5hbWU6", "", "*", "YQ", "YR==", "YQ=", "AA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := callDecoder(t, "decode_login", in, 1)
		want, ok := refLogin(in)
		if ok != (got[0] != nil) || (ok && *got[0] != want) {
			t.Fatalf("decode_login(%q) = %q, reference %q ok=%v", in, str(got[0]), want, ok)
		}
	})
}
