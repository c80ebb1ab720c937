package smtp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// writeCert creates a self-signed certificate for CN=localhost and its key
// in one PEM file, like the original suite's cert.pem.
func writeCert(t testing.TB) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cert.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runLua runs a Lua test script with globals PORT and CERT (plus extra).
func runLua(t *testing.T, path string, globals map[string]lua.LValue) {
	t.Helper()
	rt := slimtalua.New()
	defer rt.Close()
	L := rt.State()
	L.SetGlobal("PORT", lua.LNumber(freePort(t)))
	L.SetGlobal("CERT", lua.LString(writeCert(t)))
	for k, v := range globals {
		L.SetGlobal(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rt.RunFile(ctx, path); err != nil {
		if le, ok := err.(*slimtalua.Error); ok {
			t.Fatalf("%s\n%s", le.Message, le.Traceback)
		}
		t.Fatal(err)
	}
}

// TestLuaScripts runs every testdata/test_*.lua script.
func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/test_*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".lua"), func(t *testing.T) {
			runLua(t, f, nil)
		})
	}
}
