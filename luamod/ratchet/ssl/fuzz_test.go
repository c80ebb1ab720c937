package ssl

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"testing"
)

// FuzzRecordFraming feeds a byte stream through the transport's record
// framing with varying read sizes: crypto/tls must get the stream intact
// and never bytes past the end of the record it is reading.
func FuzzRecordFraming(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 2, 1, 2, 23, 3, 3, 0, 1, 9}, uint8(3))
	f.Add([]byte{23, 3, 3, 0, 0, 21, 3, 3, 0, 2, 1, 0, 23}, uint8(1))
	f.Add([]byte("garbage that is not TLS"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		size := int(step%16) + 1
		tr := &transport{rbuf: append([]byte(nil), data...), eof: true}
		// Record ends computed independently.
		var ends []int
		for off := 0; off+recordHeader <= len(data); {
			off += recordHeader + (int(data[off+3])<<8 | int(data[off+4]))
			ends = append(ends, off)
		}
		var got []byte
		for {
			p := make([]byte, size)
			n, err := tr.Read(p)
			if n > 0 {
				start := len(got)
				got = append(got, p[:n]...)
				for _, e := range ends {
					if start < e && len(got) > e {
						t.Fatalf("read [%d,%d) crosses the record end %d", start, len(got), e)
					}
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("no progress")
			}
		}
		if !bytes.HasPrefix(data, got) {
			t.Fatal("stream altered")
		}
		// Only an incomplete trailing header may be left undelivered.
		if rest := len(data) - len(got); rest >= recordHeader {
			t.Fatalf("%d bytes undelivered", rest)
		}
	})
}

// FuzzRFC2253 checks that arbitrary DER never crashes the formatter and
// that well-formed names round-trip through their escaping rules.
func FuzzRFC2253(f *testing.F) {
	seed, _ := asn1.Marshal(pkix.Name{CommonName: "localhost", Organization: []string{"A, B"}}.ToRDNSequence())
	f.Add(seed)
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x03, 0x31, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := RFC2253(der)
		if err != nil {
			return
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] >= 0x7f {
				t.Fatalf("unescaped byte %#x in %q", s[i], s)
			}
		}
	})
}
