package native

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ---- slimta.uuid (spec 2.4) ----

func openUUID(L *lua.LState) *lua.LTable {
	return newModule(L, map[string]lua.LGFunction{"generate": uuidGenerate})
}

// NewUUID returns a random (version 4) UUID in canonical lower-case form.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux; nothing sane to do
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return FormatUUID(b)
}

// FormatUUID renders the 16 bytes of a UUID as 8-4-4-4-12 lower-case hex.
func FormatUUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func uuidGenerate(L *lua.LState) int {
	L.Push(lua.LString(NewUUID()))
	return 1
}

// ---- slimta.base64 (spec 2.2) ----

func openBase64(L *lua.LState) *lua.LTable {
	return newModule(L, map[string]lua.LGFunction{
		"encode": base64Encode,
		"decode": base64Decode,
	})
}

func base64Encode(L *lua.LState) int {
	L.Push(lua.LString(base64.StdEncoding.EncodeToString([]byte(checkStringStrict(L, 1)))))
	return 1
}

func base64Decode(L *lua.LState) int {
	L.Push(lua.LString(DecodeBase64(checkStringStrict(L, 1))))
	return 1
}

// DecodeBase64 decodes standard base64 and never fails: malformed input
// gives "" (the RECOMMENDED contract of spec 2.2). Line breaks are ignored,
// so a trailing CR/LF is fine; unpadded input is accepted too because some
// SASL clients omit the padding.
func DecodeBase64(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return string(b)
	}
	if len(s)%4 != 0 && !strings.Contains(s, "=") {
		if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
			return string(b)
		}
	}
	return ""
}

// ---- slimta.hmac (spec 2.3) ----

func openHMAC(L *lua.LState) *lua.LTable {
	return newModule(L, map[string]lua.LGFunction{"encode": hmacEncode})
}

// hmacMethods maps the OpenSSL digest names the original accepted to Go
// hashes. sha (SHA-0), ripemd160, dss, dss1, mdc2 and md2 are gone from
// modern crypto libraries and from Go's standard library; they raise.
var hmacMethods = map[string]func() hash.Hash{
	"md5":    md5.New,
	"sha1":   sha1.New,
	"sha224": sha256.New224,
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

func hmacEncode(L *lua.LState) int {
	method := checkStringStrict(L, 1)
	data := checkStringStrict(L, 2)
	key := checkStringStrict(L, 3)
	if method == "md_null" {
		// The null digest has length 0, so its HMAC is empty.
		L.Push(lua.LString(""))
		return 1
	}
	newHash, ok := hmacMethods[method]
	if !ok {
		L.ArgError(1, "Invalid EVP method name.")
	}
	m := hmac.New(newHash, []byte(key))
	m.Write([]byte(data))
	L.Push(lua.LString(m.Sum(nil)))
	return 1
}
