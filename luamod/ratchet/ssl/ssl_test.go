package ssl_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/ssl"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// writeCert creates a self-signed certificate and its unencrypted key in
// one PEM file, like the original test suite's
// `openssl req -x509 -nodes -subj '/CN=localhost' -newkey rsa:1024`.
func writeCert(t testing.TB, dir, name string, subject pkix.Name, bits int) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               subject,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

func otherSubject() pkix.Name {
	return pkix.Name{
		CommonName:         "other.example",
		Organization:       []string{"Example, Inc."},
		OrganizationalUnit: []string{"Mail+Relay"},
		Locality:           []string{"Zürich"},
		Country:            []string{"CH"},
		ExtraNames:         []pkix.AttributeTypeAndValue{{Type: oidEmail, Value: "postmaster@other.example"}},
	}
}

const otherSubjectRFC2253 = `emailAddress=postmaster@other.example,CN=other.example,OU=Mail\+Relay,O=Example\, Inc.,L=Z\C3\BCrich,C=CH`

type certs struct {
	dir, cert, other, caDir string
}

func makeCerts(t testing.TB) certs {
	dir := t.TempDir()
	c := certs{dir: dir}
	c.cert = writeCert(t, dir, "cert.pem", pkix.Name{CommonName: "localhost"}, 1024)
	c.other = writeCert(t, dir, "other.pem", otherSubject(), 2048)
	c.caDir = filepath.Join(dir, "cas")
	require.NoError(t, os.Mkdir(c.caDir, 0o755))
	data, err := os.ReadFile(c.cert)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(c.caDir, "ca.pem"), data, 0o644))
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func luaErr(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var le *slimtalua.Error
	if errors.As(err, &le) {
		t.Fatalf("%s\n%s", le.Message, le.Traceback)
	}
	t.Fatal(err)
}

func newRuntime(t testing.TB, c certs) *slimtalua.Runtime {
	rt := slimtalua.New()
	t.Cleanup(rt.Close)
	L := rt.State()
	L.SetGlobal("PORT", lua.LNumber(freePort(t)))
	L.SetGlobal("CERT", lua.LString(c.cert))
	L.SetGlobal("OTHER_CERT", lua.LString(c.other))
	L.SetGlobal("OTHER_SUBJECT", lua.LString(otherSubjectRFC2253))
	L.SetGlobal("CA_DIR", lua.LString(c.caDir))
	return rt
}

// TestLuaScripts runs every testdata/*.lua script (test_ssl_send_recv and
// extras).
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	c := makeCerts(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			rt := newRuntime(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			luaErr(t, rt.RunFile(ctx, f))
		})
	}
}

// TestGoAPIThroughTLS: the socket Go API (used by native protocol
// engines) reads and writes through the TLS session once encrypted.
func TestGoAPIThroughTLS(t *testing.T) {
	c := makeCerts(t)
	rt := newRuntime(t, c)
	rt.Register("go_echo", func(L *lua.LState) int {
		s := socket.Check(L, 1, "go_echo")
		require.False(t, s.Encrypted())
		sess := ssl.Encrypt(L, s, ssl.CheckContext(L, 2, "go_echo"))
		require.True(t, s.Encrypted())
		sess.ServerHandshake(L)
		require.NotEmpty(t, sess.Cipher())
		present, _, _ := sess.VerifyCertificate("localhost")
		require.False(t, present) // the client sent none
		buf := make([]byte, 4)
		var got []byte
		for len(got) < 10 {
			n := s.Recv(L, buf)
			require.NotZero(t, n)
			got = append(got, buf[:n]...)
		}
		s.Send(L, []byte(strings.ToUpper(string(got))))
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	luaErr(t, rt.RunString(ctx, `
		require "ratchet"
		ratchet.new(function ()
			local server = ratchet.ssl.new()
			server:load_certs(CERT)
			local a, b = ratchet.socket.new_pair()
			ratchet.thread.attach(function ()
				go_echo(b, server)
				assert(b:get_encryption():shutdown())
			end)
			local e = a:encrypt(ratchet.ssl.new())
			e:client_handshake()
			a:send("hello")
			a:send("world")
			assert(a:recv() == "HELLOWORLD")
			e:shutdown()
		end):loop()
	`, "goapi"))
}

// TestCipherNamesMatchOpenSSL checks the name table against the local
// openssl's own names for the same suite IDs.
func TestCipherNamesMatchOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (Debian package openssl)")
	}
	out, err := exec.Command(bin, "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output()
	if err != nil {
		t.Skipf("openssl ciphers: %v", err)
	}
	names := map[uint16]string{}
	re := regexp.MustCompile(`0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		id, err := strconv.ParseUint(m[1]+m[2], 16, 16)
		require.NoError(t, err)
		names[uint16(id)] = m[3]
	}
	checked := 0
	for _, id := range []uint16{0x0035, 0x002f, 0x009c, 0x009d, 0xc013, 0xc014, 0xc02f, 0xc030, 0xcca8, 0xc02b, 0xc02c, 0xc009, 0xc00a, 0xcca9, 0x1301, 0x1302, 0x1303, 0x003c, 0xc027, 0xc023} {
		want, ok := names[id]
		if !ok {
			continue
		}
		checked++
		require.Equal(t, want, ssl.CipherName(id), "suite %#04x", id)
	}
	require.NotZero(t, checked)
}

// TestRFC2253MatchesOpenSSL compares the subject formatting with
// `openssl x509 -nameopt RFC2253`.
func TestRFC2253MatchesOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (Debian package openssl)")
	}
	c := makeCerts(t)
	out, err := exec.Command(bin, "x509", "-in", c.other, "-noout", "-subject", "-nameopt", "RFC2253").Output()
	require.NoError(t, err)
	want := strings.TrimPrefix(strings.TrimSpace(string(out)), "subject=")
	data, _ := os.ReadFile(c.other)
	b, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	got, err := ssl.RFC2253(cert.RawSubject)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, otherSubjectRFC2253, got)
}

// TestOpenSSLClient runs a Lua TLS server against `openssl s_client`:
// handshake, data both ways, and the cipher name both sides report.
func TestOpenSSLClient(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (Debian package openssl)")
	}
	c := makeCerts(t)
	// OpenSSL's default security level refuses 1024-bit keys: use 2048.
	cert := writeCert(t, c.dir, "cert2048.pem", pkix.Name{CommonName: "localhost"}, 2048)
	cases := []struct {
		method, proto string
		args          []string
	}{
		{"", "", nil},
		{"ratchet.ssl.TLSv1_server", "", nil},
		{"ratchet.ssl.SSLv3_server", "", nil},
		// TLSv1 contexts really speak TLS 1.0 to a peer that insists.
		{"ratchet.ssl.TLSv1_server", "TLSv1", []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}},
		{"ratchet.ssl.SSLv3_server", "TLSv1", []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"}},
	}
	for _, tc := range cases {
		method := tc.method
		t.Run(strings.Join(append([]string{"method=" + method}, tc.args...), " "), func(t *testing.T) {
			rt := newRuntime(t, c)
			port := freePort(t)
			L := rt.State()
			L.SetGlobal("PORT", lua.LNumber(port))
			L.SetGlobal("CERT", lua.LString(cert))
			listening := make(chan struct{})
			var cipher string
			rt.Register("listening", func(*lua.LState) int { close(listening); return 0 })
			rt.Register("cipher", func(L *lua.LState) int { cipher = L.CheckString(1); return 0 })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- rt.RunString(ctx, `
					require "ratchet"
					ratchet.new(function ()
						local ctx = ratchet.ssl.new(`+method+`)
						ctx:load_certs(CERT)
						local r = ratchet.socket.prepare_tcp("127.0.0.1", PORT)
						local srv = ratchet.socket.new(r.family, r.socktype, r.protocol)
						srv:setsockopt("SO_REUSEADDR", true)
						srv:bind(r.addr); srv:listen()
						listening()
						local c = srv:accept()
						c:set_timeout(10)
						local e = c:encrypt(ctx)
						e:server_handshake()
						cipher(e:get_cipher())
						local line = ""
						while not line:find("\n") do line = line .. c:recv() end
						c:send("echo: " .. line)
						e:shutdown()
						c:close()
					end):loop()
				`, "openssl")
			}()
			<-listening
			args := append([]string{"s_client", "-connect", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "-ign_eof"}, tc.args...)
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Stdin = strings.NewReader("ping\n")
			out, _ := cmd.CombinedOutput()
			luaErr(t, <-errc)
			require.Contains(t, string(out), "echo: ping", string(out))
			m := regexp.MustCompile(`Cipher(?: is|\s*:) (\S+)`).FindStringSubmatch(string(out))
			require.NotNil(t, m, string(out))
			require.Equal(t, m[1], cipher)
			if method == "ratchet.ssl.SSLv3_server" {
				require.Equal(t, "AES256-SHA", cipher)
			}
			if tc.proto != "" {
				require.Regexp(t, `Protocol\s*: `+tc.proto+`\n`, string(out))
			}
		})
	}
}

// TestOpenSSLServer runs a Lua TLS client against `openssl s_server -rev`
// (which answers each line reversed): handshake, verification, data.
func TestOpenSSLServer(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (Debian package openssl)")
	}
	c := makeCerts(t)
	cert := writeCert(t, c.dir, "cert2048.pem", pkix.Name{CommonName: "localhost"}, 2048)
	for _, method := range []string{"", "ratchet.ssl.TLSv1_client", "ratchet.ssl.SSLv3_client"} {
		t.Run("method="+method, func(t *testing.T) {
			port := freePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srv := exec.CommandContext(ctx, bin, "s_server", "-accept", strconv.Itoa(port), "-cert", cert, "-rev", "-naccept", "1", "-quiet")
			require.NoError(t, srv.Start())
			defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
			rt := newRuntime(t, c)
			L := rt.State()
			L.SetGlobal("PORT", lua.LNumber(port))
			L.SetGlobal("CERT", lua.LString(cert))
			luaErr(t, rt.RunString(ctx, `
				require "ratchet"
				ratchet.new(function ()
					local ctx = ratchet.ssl.new(`+method+`)
					ctx:load_cas(nil, CERT)
					local r = ratchet.socket.prepare_tcp("localhost", PORT)
					local c
					for i = 1, 100 do -- until s_server listens
						c = ratchet.socket.new(r.family, r.socktype, r.protocol)
						if pcall(c.connect, c, r.addr) then break end
						c:close(); c = nil
						ratchet.thread.timer(0.05)
					end
					assert(c, "cannot connect to openssl s_server")
					c:set_timeout(10)
					local e = c:encrypt(ctx)
					e:client_handshake()
					local a, b, h = e:verify_certificate("localhost")
					assert(a and b and h)
					assert(e:get_rfc2253() == "CN=localhost")
					c:send("hello\n")
					local got = ""
					while not got:find("\n") do got = got .. c:recv() end
					assert(got == "olleh\n", got)
					c:close()
				end):loop()
			`, "s_server"))
		})
	}
}
