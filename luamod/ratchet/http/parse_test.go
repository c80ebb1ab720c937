package http

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRequest(t *testing.T) {
	h, st := ParseRequest([]byte("get /x HTTP/1.0\r\nA: 1\r\nb:2\r\nA:  3 \r\nno colon line\r\n\r\nBODY"), 1000)
	require.Equal(t, OK, st)
	assert.Equal(t, "GET", h.Method)
	assert.Equal(t, "/x", h.URI)
	assert.Equal(t, "1.0", h.Version)
	assert.Equal(t, []Header{{"a", "1"}, {"b", "2"}, {"a", "3"}}, h.Headers)
	assert.Equal(t, 53, h.Length)

	_, st = ParseRequest([]byte("GET /x HTTP/1.0\r\nA: 1\r\n"), 1000)
	assert.Equal(t, Incomplete, st)
	_, st = ParseRequest([]byte("GET /x"), 1000)
	assert.Equal(t, Incomplete, st)
	_, st = ParseRequest([]byte("GET /x HTTP/1.0 extra\r\n\r\n"), 1000)
	assert.Equal(t, Malformed, st)
	_, st = ParseRequest([]byte("GET /x FTP/1.0\r\n\r\n"), 1000)
	assert.Equal(t, Malformed, st)
	_, st = ParseRequest([]byte("\x16\x03\x01"), 1000)
	assert.Equal(t, Malformed, st)
	_, st = ParseRequest([]byte("GET /x HTTP/1.0\r\nA: "+string(make([]byte, 2000))), 1000)
	assert.Equal(t, TooLarge, st)
	// a colon-less line is never merged into the next header's name
	h, st = ParseRequest([]byte("GET / HTTP/1.0\r\nbogus\r\nX: y\r\n\r\n"), 1000)
	require.Equal(t, OK, st)
	assert.Equal(t, []Header{{"x", "y"}}, h.Headers)
}

func TestParseResponse(t *testing.T) {
	h, st := ParseResponse([]byte("HTTP/1.0 250 Testing stuff\r\nX-Testing: check\r\n\r\ndata!"), 1000)
	require.Equal(t, OK, st)
	assert.Equal(t, 250, h.Code)
	assert.Equal(t, "Testing stuff", h.Reason)
	assert.Equal(t, []Header{{"x-testing", "check"}}, h.Headers)
	_, st = ParseResponse([]byte("HTTP/1.0 25 x\r\n\r\n"), 1000)
	assert.Equal(t, Malformed, st)
	_, st = ParseResponse([]byte("SMTP/1.0 250 x\r\n\r\n"), 1000)
	assert.Equal(t, Malformed, st)
	h, st = ParseResponse([]byte("HTTP/1.1 204\r\n\r\n"), 1000)
	require.Equal(t, OK, st)
	assert.Equal(t, 204, h.Code)
	assert.Equal(t, "", h.Reason)
}

func FuzzHTTPRequest(f *testing.F) {
	f.Add([]byte("GET /x HTTP/1.0\r\nA: 1\r\n\r\n"), 100)
	f.Add([]byte("POST / HTTP/1.1\nContent-Length: 5\n\nhello"), 1000)
	f.Add([]byte("garbage"), 10)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 {
			max = -max
		}
		max %= 1 << 16
		h, st := ParseRequest(in, max)
		if st == OK {
			if h.Length > len(in) || h.Length > max {
				t.Fatalf("head length %d (input %d, max %d)", h.Length, len(in), max)
			}
			for _, hd := range h.Headers {
				for _, c := range []byte(hd.Name + hd.Value) {
					if c == '\n' {
						t.Fatalf("line break in header %q", hd)
					}
				}
			}
			// a complete head stays complete with more input
			h2, st2 := ParseRequest(append(append([]byte(nil), in...), "tail"...), max)
			if st2 != OK || h2.Length != h.Length {
				t.Fatalf("extra input changed the head")
			}
		}
		ParseResponse(in, max)
		_ = cleanField(string(in))
	})
}
