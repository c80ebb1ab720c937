// Package luatest holds helpers shared by the slimta edge, bus and policy
// tests: running Lua scripts in a fresh runtime with a few test globals,
// free loopback ports, a throw-away TLS certificate and external programs.
package luatest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	lua "github.com/yuin/gopher-lua"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Options for Run.
type Options struct {
	// Globals are set before the script runs (strings, numbers, booleans).
	Globals map[string]any
	// Ready, if set, receives a value each time the script calls ready().
	Ready chan<- string
	// Timeout bounds the whole script (default 30 s).
	Timeout time.Duration
	// Args become the script's ... values.
	Args []string
}

// New creates a runtime with the test globals installed: free_port()
// returns a free loopback port, ready([tag]) notifies opts.Ready.
func New(t testing.TB, opts Options) *slimtalua.Runtime {
	t.Helper()
	rt := slimtalua.New()
	L := rt.State()
	L.SetGlobal("free_port", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(FreePort(t)))
		return 1
	}))
	ready := opts.Ready
	L.SetGlobal("ready", L.NewFunction(func(L *lua.LState) int {
		if ready != nil {
			ready <- L.OptString(1, "")
		}
		return 0
	}))
	for k, v := range opts.Globals {
		L.SetGlobal(k, toLua(v))
	}
	return rt
}

func toLua(v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	case lua.LValue:
		return x
	}
	panic("luatest: unsupported global type")
}

// Run runs the Lua file at path and fails t with the Lua traceback when
// it raises.
func Run(t testing.TB, path string, opts Options) {
	t.Helper()
	if err := RunErr(t, path, opts); err != nil {
		t.Fatal(Describe(err))
	}
}

// RunErr is Run returning the error instead of failing.
func RunErr(t testing.TB, path string, opts Options) error {
	t.Helper()
	rt := New(t, opts)
	defer rt.Close()
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return rt.RunFile(ctx, path, opts.Args...)
}

// Describe formats a script error with its Lua traceback.
func Describe(err error) string {
	var le *slimtalua.Error
	if errors.As(err, &le) {
		return le.Message + "\n" + le.Traceback
	}
	return err.Error()
}

// Program returns the path of an external program or skips the test,
// naming the Debian package that provides it.
func Program(t testing.TB, name, debianPackage string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/sbin/"} {
		if p, err := exec.LookPath(dir + name); err == nil {
			return p
		}
	}
	t.Skipf("%s not installed (Debian package %s)", name, debianPackage)
	return ""
}

// WriteCert writes a self-signed RSA-2048 certificate for CN=localhost
// (SAN localhost, 127.0.0.1, ::1) and its key into one PEM file in dir,
// the layout ratchet.ssl's load_certs/load_cas accept.
func WriteCert(t testing.TB, dir string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cert.pem")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_ = pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(f, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return path
}

// Background runs the script in a goroutine; the returned channel yields
// its result once.
func Background(t testing.TB, path string, opts Options) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		done <- RunErr(t, path, opts)
	}()
	return done
}

// WaitReady waits for the script's ready() call or its early end.
func WaitReady(t testing.TB, ready <-chan string, done <-chan error) string {
	t.Helper()
	select {
	case tag := <-ready:
		return tag
	case err := <-done:
		if err != nil {
			t.Fatalf("script ended before ready(): %s", Describe(err))
		}
		t.Fatal("script ended before ready()")
	case <-time.After(20 * time.Second):
		t.Fatal("script never called ready()")
	}
	return ""
}

// Wait waits for a background script and fails t if it raised.
func Wait(t testing.TB, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(Describe(err))
		}
	case <-time.After(40 * time.Second):
		t.Fatal("script did not finish")
	}
}
