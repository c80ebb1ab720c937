package native_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/native"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventLog records parser events; adjacent text is merged because how text
// is split into callbacks is not significant.
type eventLog struct{ ev []string }

func (l *eventLog) Start(name string, attrs []xml.Attr) {
	var b strings.Builder
	b.WriteString("<" + name)
	for _, a := range attrs {
		fmt.Fprintf(&b, " %s:%s=%q", a.Name.Space, a.Name.Local, a.Value)
	}
	l.ev = append(l.ev, b.String()+">")
}

func (l *eventLog) End(name string) { l.ev = append(l.ev, "</"+name+">") }

func (l *eventLog) Text(data []byte) {
	if n := len(l.ev); n > 0 && strings.HasPrefix(l.ev[n-1], "T:") {
		l.ev[n-1] += string(data)
		return
	}
	l.ev = append(l.ev, "T:"+string(data))
}

func parseChunks(t *testing.T, chunks ...[]byte) ([]string, string) {
	t.Helper()
	p, ok := native.NewXMLParser("")
	require.True(t, ok)
	defer p.Close()
	log := &eventLog{}
	for i, c := range chunks {
		if msg := p.Parse(c, i == len(chunks)-1, log); msg != "" {
			return log.ev, msg
		}
	}
	return log.ev, ""
}

func TestXMLParserChunking(t *testing.T) {
	doc := []byte("<r a='1'><x>one &amp; two</x><y/>tail</r>")
	whole, msg := parseChunks(t, doc)
	require.Empty(t, msg)
	require.Equal(t, []string{`<r :a="1">`, "<x>", "T:one & two", "</x>", "<y>", "</y>", "T:tail", "</r>"}, whole)
	for i := 0; i <= len(doc); i++ {
		for j := i; j <= len(doc); j += 3 {
			ev, msg := parseChunks(t, doc[:i], doc[i:j], doc[j:])
			require.Empty(t, msg, "split %d/%d", i, j)
			require.Equal(t, whole, ev, "split %d/%d", i, j)
		}
	}
}

func TestXMLParserAbandoned(t *testing.T) {
	// A parser dropped mid-document must not keep its goroutine forever;
	// Close (also run by the finalizer) stops it, and later calls fail.
	p, _ := native.NewXMLParser("")
	log := &eventLog{}
	require.Empty(t, p.Parse([]byte("<a><b>"), false, log))
	p.Close()
	assert.NotEmpty(t, p.Parse([]byte("</b></a>"), true, log))
}

// FuzzXMLParse checks that the parser never panics or hangs, and that
// splitting the input into two chunks anywhere changes neither the events
// nor the outcome.
func FuzzXMLParse(f *testing.F) {
	f.Add([]byte("<a x='1'>hi<b>2</b>!</a>"), uint16(3))
	f.Add([]byte("<requests>\r\n <message id=\"one\">\r\n  <contents part=\"1\"/>\r\n </message>\r\n</requests>\r\n"), uint16(20))
	f.Add([]byte("<a>&lt;&#13;&#x41;<![CDATA[x]]></a>"), uint16(7))
	f.Add([]byte("<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe9</a>"), uint16(40))
	f.Add([]byte("<a><b></a>"), uint16(1))
	f.Add([]byte(""), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := int(split) % (len(data) + 1)
		whole, wmsg := parseChunks(t, data)
		parts, pmsg := parseChunks(t, data[:cut], data[cut:])
		if wmsg != pmsg {
			t.Fatalf("outcome differs: whole %q, split at %d %q", wmsg, cut, pmsg)
		}
		if wmsg == "" && fmt.Sprint(whole) != fmt.Sprint(parts) {
			t.Fatalf("events differ:\n%q\n%q", whole, parts)
		}
		// Escaped text always round-trips through the parser.
		esc := native.EscapeXML(string(data))
		if !bytes.ContainsAny(data, "\x00\r") && utf8Valid(data) && xmlChars(data) {
			ev, msg := parseChunks(t, []byte("<t>"+esc+"</t>"))
			if msg != "" {
				t.Fatalf("escaped text rejected: %q", msg)
			}
			got := ""
			if len(ev) == 3 {
				got = strings.TrimPrefix(ev[1], "T:")
			}
			if got != string(data) {
				t.Fatalf("escape round trip: %q -> %q", data, got)
			}
		}
	})
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

// xmlChars reports whether b only holds characters XML 1.0 allows.
func xmlChars(b []byte) bool {
	for _, r := range string(b) {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// FuzzBase64Decode checks the non-raising decoder: no panics, exact round
// trips of encoded data, and stability of whatever it returns.
func FuzzBase64Decode(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QUI=", "QUJD", "QUJDRA==\r\n", "QUJDRA", "not base64!", "AHRlc3R1c2VyAHRlc3RwYXNz", "=", "Q===", "QQ=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := native.DecodeBase64(base64.StdEncoding.EncodeToString([]byte(s))); got != s {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
		out := native.DecodeBase64(s)
		if again := native.DecodeBase64(base64.StdEncoding.EncodeToString([]byte(out))); again != out {
			t.Fatalf("unstable decode of %q", s)
		}
	})
}
