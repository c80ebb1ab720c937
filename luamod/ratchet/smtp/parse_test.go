package smtp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	cases := []struct{ line, verb, arg string }{
		{"EHLO there", "EHLO", "there"},
		{"ehlo   there  ", "EHLO", "there"},
		{"MAIL FROM:<a@b>", "MAIL", "FROM:<a@b>"},
		{"mail from: <a@b> SIZE=10", "MAIL", "from: <a@b> SIZE=10"},
		{"QUIT", "QUIT", ""},
		{"", "", ""},
		{"123 abc", "123 abc", ""},
		{" NOOP", " NOOP", ""},
		{"X-FOO bar", "X", "-FOO bar"},
		{"StartTLS", "STARTTLS", ""},
		{"DATA\t", "DATA", ""},
	}
	for _, c := range cases {
		v, a := ParseCommand([]byte(c.line))
		assert.Equal(t, c.verb, string(v), c.line)
		assert.Equal(t, c.arg, string(a), c.line)
	}
}

func TestParsePathArg(t *testing.T) {
	cases := []struct {
		arg, prefix string
		ok          bool
		addr        string
		size        int64
		bad         bool
	}{
		{"FROM:<a@b>", "FROM:", true, "a@b", -1, false},
		{"from:  <a@b>", "FROM:", true, "a@b", -1, false},
		{"FROM:<>", "FROM:", true, "", -1, false},
		{"FROM:<a@b> SIZE=1234", "FROM:", true, "a@b", 1234, false},
		{"FROM:<a@b> BODY=8BITMIME size=5", "FROM:", true, "a@b", 5, false},
		{"FROM:<a@b> SIZE=x", "FROM:", true, "a@b", -1, true},
		{`FROM:<"a>b"@c>`, "FROM:", true, `"a>b"@c`, -1, false},
		{`FROM:<"a\">b"@c> SIZE=1`, "FROM:", true, `"a\">b"@c`, 1, false},
		{"FROM:a@b", "FROM:", false, "", -1, false},
		{"FROM:<a@b", "FROM:", false, "", -1, false},
		{"TO:<x@y>", "FROM:", false, "", -1, false},
		{"TO:<x@y>", "TO:", true, "x@y", -1, false},
		{"TO:", "TO:", false, "", -1, false},
		{"", "TO:", false, "", -1, false},
	}
	for _, c := range cases {
		p, ok := ParsePathArg([]byte(c.arg), c.prefix)
		require.Equal(t, c.ok, ok, c.arg)
		if ok {
			assert.Equal(t, c.addr, string(p.Addr), c.arg)
			assert.Equal(t, c.size, p.Size, c.arg)
			assert.Equal(t, c.bad, p.BadSize, c.arg)
		}
	}
}

func TestApplyESC(t *testing.T) {
	cases := []struct{ code, msg, esc, want string }{
		{"250", "test sender okay: a@b", "2.1.0", "2.1.0 test sender okay: a@b"},
		{"250", "Ok", "", "2.0.0 Ok"},
		{"550", "2.1.0 nope", "", "5.1.0 nope"},
		{"550", "5.7.1 nope", "2.0.0", "5.0.0 nope"},
		{"451", "Testing", "2.6.0", "4.6.0 Testing"},
		{"451", "4.6.0 Testing", "", "4.6.0 Testing"},
		{"354", "Start mail input", "2.0.0", "Start mail input"},
		{"123", "custom", "", "custom"},
		{"250", "line1\r\nline2", "2.1.0", "2.1.0 line1\r\n2.1.0 line2"},
		{"250", "x", "bogus", "2.0.0 x"},
		{"250", "5.5.55 x", "", "2.5.55 x"},
		{"250", "5.5.5555 x", "", "2.0.0 5.5.5555 x"},
		{"250", "2.1.0", "", "2.0.0 2.1.0"},
		{"250", "", "", "2.0.0 "},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, ApplyESC(c.code, c.msg, c.esc), "%+v", c)
	}
}

func TestAppendReply(t *testing.T) {
	assert.Equal(t, "250 Ok\r\n", string(AppendReply(nil, "250", "Ok")))
	assert.Equal(t, "250 \r\n", string(AppendReply(nil, "250", "")))
	assert.Equal(t, "250-a\r\n250-b\r\n250 c\r\n", string(AppendReply(nil, "250", "a\r\nb\nc")))
	assert.Equal(t, "250 a b\r\n", string(AppendReply(nil, "250", "a\rb")))
}

func TestReplyParser(t *testing.T) {
	var p ReplyParser
	feed := func(lines ...string) (ReplyStatus, string) {
		p.Reset()
		var st ReplyStatus
		for _, l := range lines {
			st = p.Feed([]byte(l))
			if st != ReplyMore {
				break
			}
		}
		return st, p.Message()
	}
	st, m := feed("250 Ok")
	assert.Equal(t, ReplyDone, st)
	assert.Equal(t, "Ok", m)
	assert.Equal(t, "250", p.Code)
	st, m = feed("250-Hello", "250-PIPELINING", "250 SIZE 10")
	assert.Equal(t, ReplyDone, st)
	assert.Equal(t, "Hello\r\nPIPELINING\r\nSIZE 10", m)
	st, m = feed("220")
	assert.Equal(t, ReplyDone, st)
	assert.Equal(t, "", m)
	st, _ = feed("250-a", "251 b")
	assert.Equal(t, ReplyInvalid, st)
	st, _ = feed("hello")
	assert.Equal(t, ReplyInvalid, st)
	st, _ = feed("250x")
	assert.Equal(t, ReplyInvalid, st)
	st, m = feed("250\tx")
	assert.Equal(t, ReplyDone, st)
	assert.Equal(t, "x", m)
}

// refUnstuff is the reference DATA reader: CRLF-delimited lines, "." alone
// ends the data, other lines lose one leading dot.
func refUnstuff(in []byte) (data []byte, consumed int, done bool) {
	pos := 0
	var lines [][]byte
	for {
		j := bytes.Index(in[pos:], []byte("\r\n"))
		if j < 0 {
			return nil, 0, false
		}
		line := in[pos : pos+j]
		pos += j + 2
		if string(line) == "." {
			return bytes.Join(lines, []byte("\r\n")), pos, true
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		lines = append(lines, line)
	}
}

// feedChunks runs a DataReader over in, split at the given cut points.
func feedChunks(d *DataReader, in []byte, cuts []int) (consumed int, done bool) {
	prev := 0
	for _, c := range append(cuts, len(in)) {
		if c < prev || c > len(in) {
			continue
		}
		n, ok := d.Feed(in[prev:c])
		consumed += n
		if ok {
			return consumed, true
		}
		prev = c
	}
	return consumed, false
}

func TestDataReader(t *testing.T) {
	cases := []struct {
		in   string
		data string
		rest string
		done bool
	}{
		{"x\r\n.\r\n", "x", "", true},
		{".\r\n", "", "", true},
		{"\r\n.\r\n", "", "", true},
		{"a\r\n..b\r\n.\r\nQUIT\r\n", "a\r\n.b", "QUIT\r\n", true},
		{"..\r\n.\r\n", ".", "", true},
		{".x\r\n.\r\n", "x", "", true},
		{"a\n.\nb\r\n.\r\n", "a\n.\nb", "", true},
		{"a\n.\r\nb\r\n.\r\n", "a\n.\r\nb", "", true},
		{"a\r\n.\nb\r\n.\r\n", "a\r\n\nb", "", true},
		{"a\r\r\n.\r\n", "a\r", "", true},
		{".\r\r\n.\r\n", "\r", "", true},
		{"abc", "", "", false},
		{"abc\r\n.", "", "", false},
		{"abc\r\n.\r", "", "", false},
	}
	for _, c := range cases {
		in := []byte(c.in)
		for cut := 0; cut <= len(in); cut++ {
			d := NewDataReader(-1)
			n, done := feedChunks(d, in, []int{cut})
			require.Equal(t, c.done, done, "%q cut %d", c.in, cut)
			if done {
				assert.Equal(t, c.data, string(d.Data()), "%q cut %d", c.in, cut)
				assert.Equal(t, c.rest, c.in[n:], "%q cut %d", c.in, cut)
			}
			ref, rn, rdone := refUnstuff(in)
			assert.Equal(t, rdone, done)
			if done {
				assert.Equal(t, string(ref), string(d.Data()))
				assert.Equal(t, rn, n)
			}
		}
	}
}

func TestDataReaderLimit(t *testing.T) {
	d := NewDataReader(25)
	in := []byte(strings.Repeat("a", 26) + "\r\n.\r\nQUIT\r\n")
	n, done := d.Feed(in)
	require.True(t, done)
	assert.True(t, d.TooBig)
	assert.Nil(t, d.Data())
	assert.Equal(t, "QUIT\r\n", string(in[n:]))

	d.Reset(28) // 26 + CRLF fits exactly
	_, done = d.Feed(in)
	require.True(t, done)
	assert.False(t, d.TooBig)
	assert.Equal(t, strings.Repeat("a", 26), string(d.Data()))
}

func TestDataSender(t *testing.T) {
	cases := []struct{ in, out string }{
		{"hello", "hello\r\n.\r\n"},
		{"a\r\n.b\r\n", "a\r\n..b\r\n.\r\n"},
		{"", ".\r\n"},
		{".", "..\r\n.\r\n"},
		{".a\n.b\n", "..a\r\n..b\r\n.\r\n"},
		{"a\rb", "ab\r\n.\r\n"},
		{"\r", ".\r\n"},
		{"\n", "\r\n.\r\n"},
		{"x\r\r\n\r.y", "x\r\n..y\r\n.\r\n"},
		{"a\n\n.\n", "a\r\n\r\n..\r\n.\r\n"},
	}
	for _, c := range cases {
		in := []byte(c.in)
		for cut := 0; cut <= len(in); cut++ {
			var s DataSender
			out := s.Transform(nil, in[:cut])
			out = s.Transform(out, in[cut:])
			out = s.Finish(out)
			assert.Equal(t, c.out, string(out), "%q cut %d", c.in, cut)
		}
	}
}

// refTransform is the client transform written the obvious way.
func refTransform(in []byte) []byte {
	noCR := bytes.ReplaceAll(in, []byte("\r"), nil)
	text := bytes.ReplaceAll(noCR, []byte("\n"), []byte("\r\n"))
	lines := bytes.Split(text, []byte("\r\n"))
	for i, l := range lines {
		if len(l) > 0 && l[0] == '.' {
			lines[i] = append([]byte("."), l...)
		}
	}
	out := bytes.Join(lines, []byte("\r\n"))
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return append(out, '.', '\r', '\n')
}

// TestRoundTrip: server sees the normalised text minus its final line end.
func TestRoundTrip(t *testing.T) {
	inputs := []string{"", "a", "a\n", "a\r\n", ".", "..\n.\n", "x\r\ny\n.z\r", "\n\n\n", strings.Repeat(".a\r\n", 1000)}
	for _, in := range inputs {
		var s DataSender
		wire := s.Finish(s.Transform(nil, []byte(in)))
		assert.Equal(t, string(refTransform([]byte(in))), string(wire))
		d := NewDataReader(-1)
		n, done := d.Feed(wire)
		require.True(t, done, in)
		assert.Equal(t, len(wire), n)
		want := strings.ReplaceAll(strings.ReplaceAll(in, "\r", ""), "\n", "\r\n")
		want = strings.TrimSuffix(want, "\r\n")
		assert.Equal(t, want, string(d.Data()))
	}
}
