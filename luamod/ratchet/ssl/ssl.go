// Package ssl implements ratchet.ssl (spec ratchet.md 2.5) on crypto/tls:
// contexts, the method constants, and TLS sessions attached to ratchet
// sockets with socket:encrypt(ctx). Handshakes and TLS reads/writes that
// must wait run inside kernel.Block, so only the calling thread waits.
package ssl

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"
	lua "github.com/yuin/gopher-lua"
)

// Role restrictions of the *_server / *_client method constants.
const (
	roleBoth = iota
	roleServer
	roleClient
)

// Protocol families of the method constants.
const (
	protoModern = iota // no method given: crypto/tls defaults (TLS 1.2+)
	protoSSLv3         // SSLv3*: SSLv3-era suites (RSA key exchange, AES-CBC-SHA), TLS 1.0-1.2
	protoTLSv1         // TLSv1*: TLS 1.0-1.2 with the usual suites plus RSA-kex CBC ones
)

// Method is the value behind a method constant.
type Method struct {
	Name  string
	proto int
	role  int
}

var methods = []*Method{
	{"SSLv3", protoSSLv3, roleBoth},
	{"SSLv3_server", protoSSLv3, roleServer},
	{"SSLv3_client", protoSSLv3, roleClient},
	{"TLSv1", protoTLSv1, roleBoth},
	{"TLSv1_server", protoTLSv1, roleServer},
	{"TLSv1_client", protoTLSv1, roleClient},
}

// sslv3Suites is the legacy server's preference order: AES256-SHA first,
// as OpenSSL chose for an RSA key without DH parameters.
var sslv3Suites = []uint16{
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
}

// tlsv1Suites: every TLS 1.0-1.2 suite crypto/tls considers secure,
// including the RSA key exchange ones it no longer enables by default.
var tlsv1Suites = func() []uint16 {
	var out []uint16
	for _, cs := range tls.CipherSuites() {
		if slices.Contains(cs.SupportedVersions, tls.VersionTLS12) && !slices.Contains(cs.SupportedVersions, tls.VersionTLS13) {
			out = append(out, cs.ID)
		}
	}
	return out
}()

// Context is the value behind a ratchet.ssl context.
type Context struct {
	method   *Method // nil: modern defaults
	certs    []tls.Certificate
	pool     *x509.CertPool
	depth    int
	verify   string // none, peer, fail, once
	password string
}

const (
	contextMeta = "ratchet.ssl.context"
	methodMeta  = "ratchet.ssl.method"
	sessionMeta = "ratchet.ssl.session"
)

// Open builds the ratchet.ssl table and installs socket:encrypt.
func Open(L *lua.LState) *lua.LTable {
	socket.SetEncryptFunc(encrypt)
	contextMetatable(L)
	sessionMetatable(L)
	mmt := L.NewTable()
	mmt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		m := L.CheckUserData(1).Value.(*Method)
		L.Push(lua.LString("ratchet.ssl." + m.Name))
		return 1
	}))
	mmt.RawSetString("__metatable", lua.LString("ratchet.ssl.method"))
	L.G.Registry.RawSetString(methodMeta, mmt)
	t := L.NewTable()
	for _, m := range methods {
		ud := L.NewUserData()
		ud.Value = m
		L.SetMetatable(ud, mmt)
		t.RawSetString(m.Name, ud)
	}
	t.RawSetString("new", L.NewFunction(contextNew))
	return t
}

func contextMetatable(L *lua.LState) *lua.LTable {
	return luaarg.Metatable(L, contextMeta, contextMethods)
}

var contextMethods = map[string]lua.LGFunction{
	"load_certs":       ctxLoadCerts,
	"load_cas":         ctxLoadCAs,
	"set_verify_mode":  ctxSetVerifyMode,
	"load_randomness":  ctxIgnore,
	"load_dh_params":   ctxLoadDHParams,
	"generate_tmp_rsa": ctxIgnore,
}

func contextNew(L *lua.LState) int {
	c := &Context{depth: 1, verify: "none"}
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LUserData:
		m, ok := v.Value.(*Method)
		if !ok {
			luaarg.ArgError(L, 1, "ratchet.ssl.new", "SSL method expected")
		}
		c.method = m
	default:
		luaarg.ArgError(L, 1, "ratchet.ssl.new", "SSL method expected, got "+luaarg.TypeName(L, 1))
	}
	if s, ok := L.Get(2).(lua.LString); ok {
		c.password = string(s)
	}
	ud := L.NewUserData()
	ud.Value = c
	L.SetMetatable(ud, contextMetatable(L))
	L.Push(ud)
	return 1
}

// ContextFromValue returns the context behind a ratchet.ssl context userdata.
func ContextFromValue(v lua.LValue) (*Context, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		if c, ok := ud.Value.(*Context); ok {
			return c, true
		}
	}
	return nil, false
}

// CheckContext returns argument n as a TLS context or raises.
func CheckContext(L *lua.LState, n int, fname string) *Context {
	if c, ok := ContextFromValue(L.Get(n)); ok {
		return c
	}
	luaarg.ArgError(L, n, fname, "ratchet.ssl context expected, got "+luaarg.TypeName(L, n))
	return nil
}

func optString(L *lua.LState, n int, fname string) string {
	return luaarg.OptString(L, n, fname, "")
}

func ctxLoadCerts(L *lua.LState) int {
	const fname = "ratchet.ssl.context.load_certs"
	c := CheckContext(L, 1, fname)
	chain := luaarg.CheckString(L, 2, fname)
	key := optString(L, 3, fname)
	if key == "" {
		key = chain
	}
	pass := optString(L, 4, fname)
	if pass == "" {
		pass = c.password
	}
	cert, err := LoadKeyPair(chain, key, pass)
	if err != nil {
		var le *loadError
		if errors.As(err, &le) {
			L.RaiseError("%s", le.msg)
		}
		L.RaiseError("Could not read key file: %s (%v)", key, err)
	}
	c.certs = append(c.certs[:0], cert)
	return 0
}

type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

// LoadKeyPair reads a PEM certificate chain and a PEM private key (which
// may be in the same file, and may be encrypted with password using the
// legacy "Proc-Type: 4,ENCRYPTED" PEM scheme).
func LoadKeyPair(chainFile, keyFile, password string) (tls.Certificate, error) {
	chainPEM, err := os.ReadFile(chainFile)
	if err != nil {
		return tls.Certificate{}, &loadError{"Could not read certificate chain file: " + chainFile}
	}
	var certPEM []byte
	for rest := chainPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certPEM = append(certPEM, pem.EncodeToMemory(b)...)
		}
	}
	if len(certPEM) == 0 {
		return tls.Certificate{}, &loadError{"Could not read certificate chain file: " + chainFile}
	}
	keyData, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, &loadError{"Could not read key file: " + keyFile}
	}
	keyPEM, err := privateKeyPEM(keyData, password)
	if err != nil {
		return tls.Certificate{}, &loadError{"Could not read key file: " + keyFile}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, &loadError{"Could not read key file: " + keyFile}
	}
	return cert, nil
}

// privateKeyPEM finds the first private key block and returns it as an
// unencrypted PEM block crypto/tls can parse.
func privateKeyPEM(data []byte, password string) ([]byte, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no private key")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		//lint:ignore SA1019 the original accepted legacy encrypted PEM keys
		if x509.IsEncryptedPEMBlock(b) { //nolint:staticcheck
			der, err := x509.DecryptPEMBlock(b, []byte(password)) //nolint:staticcheck
			if err != nil {
				return nil, err
			}
			b = &pem.Block{Type: b.Type, Bytes: der}
		}
		return pem.EncodeToMemory(b), nil
	}
}

func ctxLoadCAs(L *lua.LState) int {
	const fname = "ratchet.ssl.context.load_cas"
	c := CheckContext(L, 1, fname)
	path := optString(L, 2, fname)
	file := optString(L, 3, fname)
	depth := int(luaarg.OptNumber(L, 4, fname, 1))
	if path == "" && file == "" {
		luaarg.ArgError(L, 2, fname, "Path to trusted CAs required.")
	}
	pool := c.pool
	if pool == nil {
		pool = x509.NewCertPool()
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil || !pool.AppendCertsFromPEM(data) {
			L.RaiseError("Could not read CA file: %s", file)
		}
	}
	if path != "" {
		entries, err := os.ReadDir(path)
		if err != nil {
			L.RaiseError("Could not read CA path: %s", path)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(path, e.Name())); err == nil {
				pool.AppendCertsFromPEM(data)
			}
		}
	}
	c.pool = pool
	c.depth = depth
	return 0
}

func ctxSetVerifyMode(L *lua.LState) int {
	const fname = "ratchet.ssl.context.set_verify_mode"
	c := CheckContext(L, 1, fname)
	mode := luaarg.OptString(L, 2, fname, "peer")
	switch mode {
	case "none", "peer", "fail", "once":
		c.verify = mode
	default:
		luaarg.ArgError(L, 2, fname, "invalid option '"+mode+"'")
	}
	return 0
}

// ctxIgnore accepts obsolete OpenSSL knobs (randomness seeding, temporary
// RSA keys) that crypto/tls does not need.
func ctxIgnore(L *lua.LState) int {
	CheckContext(L, 1, "ratchet.ssl.context")
	return 0
}

// ctxLoadDHParams checks the file is readable; crypto/tls has no DHE suites.
func ctxLoadDHParams(L *lua.LState) int {
	const fname = "ratchet.ssl.context.load_dh_params"
	CheckContext(L, 1, fname)
	file := luaarg.CheckString(L, 2, fname)
	data, err := os.ReadFile(file)
	if err != nil {
		L.RaiseError("Could not read DH params file: %s", file)
	}
	if b, _ := pem.Decode(data); b == nil {
		L.RaiseError("Could not read DH params file: %s", file)
	}
	return 0
}

// verifyChain checks certs against the trusted CAs and the depth limit
// (OpenSSL's: depth counts the CA levels above the peer certificate).
func (c *Context) verifyChain(certs []*x509.Certificate) bool {
	if len(certs) == 0 || c.pool == nil {
		return false
	}
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         c.pool,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return false
	}
	for _, ch := range chains {
		if len(ch) <= c.depth+2 {
			return true
		}
	}
	return false
}

// config builds the crypto/tls configuration of one session.
func (c *Context) config(server bool, ss *Session) *tls.Config {
	cfg := &tls.Config{
		Certificates: c.certs,
		// Verification is done by verifyConnection against the context's
		// CAs, with the result recorded for verify_certificate.
		InsecureSkipVerify: true,
		VerifyConnection:   ss.verifyConnection,
	}
	if server {
		switch c.verify {
		case "peer", "once":
			cfg.ClientAuth = tls.RequestClientCert
		case "fail":
			cfg.ClientAuth = tls.RequireAnyClientCert
		}
	}
	proto := protoModern
	if c.method != nil {
		proto = c.method.proto
	}
	switch proto {
	case protoSSLv3:
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS12
		cfg.CipherSuites = sslv3Suites
		if server {
			// crypto/tls picks suites in its own order (AES128 before
			// AES256); choose here in the context's order instead.
			base := cfg
			cfg = base.Clone()
			cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
				for _, id := range sslv3Suites {
					if slices.Contains(hello.CipherSuites, id) {
						one := base.Clone()
						one.CipherSuites = []uint16{id}
						return one, nil
					}
				}
				return nil, nil
			}
		}
	case protoTLSv1:
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS12
		cfg.CipherSuites = tlsv1Suites
	}
	return cfg
}
