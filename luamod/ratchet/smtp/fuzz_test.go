package smtp

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzSMTPCommand(f *testing.F) {
	for _, s := range []string{"EHLO x", "MAIL FROM:<a@b> SIZE=10", `RCPT TO:<"a>b"@c>`, "", "123", "mail from:<", "DATA x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		verb, arg := ParseCommand(line)
		if len(verb) > len(line) || len(arg) > len(line) {
			t.Fatalf("parts longer than line")
		}
		if len(line) > 0 && isLetter(line[0]) {
			if !bytes.EqualFold(verb, line[:len(verb)]) {
				t.Fatalf("verb %q not a prefix of %q", verb, line)
			}
			for _, c := range verb {
				if !(c >= 'A' && c <= 'Z') {
					t.Fatalf("verb %q not upper-case letters", verb)
				}
			}
			if len(arg) > 0 && (isBlank(arg[0]) || isBlank(arg[len(arg)-1])) {
				t.Fatalf("argument %q not trimmed", arg)
			}
		} else if !bytes.Equal(verb, line) || len(arg) != 0 {
			t.Fatalf("non-letter line must be returned whole")
		}
		for _, pfx := range []string{"FROM:", "TO:"} {
			p, ok := ParsePathArg(arg, pfx)
			if ok {
				if !bytes.Contains(arg, p.Addr) {
					t.Fatalf("address %q not inside %q", p.Addr, arg)
				}
				if p.Size < -1 {
					t.Fatalf("bad size %d", p.Size)
				}
			}
		}
		out := AppendReply(nil, "250", ApplyESC("250", string(line), ""))
		if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.Count(out, []byte("\r\n")) != bytes.Count(out, []byte("\n")) {
			t.Fatalf("reply %q has stray line breaks", out)
		}
		if bytes.Count(out, []byte("\r")) != bytes.Count(out, []byte("\n")) {
			t.Fatalf("reply %q has stray CR", out)
		}
	})
}

func FuzzSMTPData(f *testing.F) {
	for _, s := range []string{"x\r\n.\r\n", ".\r\n", "a\r\n..b\r\n.\r\nQUIT\r\n", "a\n.\nb\r\n.\r\n", ".\r\r\n.\r\n", "abc"} {
		f.Add([]byte(s), uint16(1), uint16(3), int64(-1))
	}
	f.Add([]byte(strings.Repeat("a", 26)+"\r\n.\r\n"), uint16(5), uint16(0), int64(25))
	f.Fuzz(func(t *testing.T, in []byte, c1, c2 uint16, limit int64) {
		cuts := []int{int(c1) % (len(in) + 1), int(c2) % (len(in) + 1)}
		if cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		d := NewDataReader(limit)
		n, done := feedChunks(d, in, cuts)
		ref, rn, rdone := refUnstuff(in)
		if done != rdone {
			t.Fatalf("done %v, reference %v", done, rdone)
		}
		if !done {
			return
		}
		if n != rn {
			t.Fatalf("consumed %d, reference %d", n, rn)
		}
		// Bytes counted: the data plus its final CRLF, none when the
		// terminator is the first line.
		count := int64(len(ref)) + 2
		if rn == 3 {
			count = 0
		}
		tooBig := limit >= 0 && count > limit
		if d.TooBig != tooBig {
			t.Fatalf("TooBig %v, want %v (limit %d, %d bytes)", d.TooBig, tooBig, limit, len(ref))
		}
		if !tooBig && !bytes.Equal(d.Data(), ref) {
			t.Fatalf("data %q, reference %q", d.Data(), ref)
		}
		// Whatever was read, the client transform of the data must come
		// back unchanged (modulo the normalisation it applies).
		var s DataSender
		wire := s.Finish(s.Transform(nil, ref))
		d2 := NewDataReader(-1)
		m, ok := d2.Feed(wire)
		if !ok || m != len(wire) {
			t.Fatalf("transform of %q not read back", ref)
		}
		want := bytes.ReplaceAll(bytes.ReplaceAll(ref, []byte("\r"), nil), []byte("\n"), []byte("\r\n"))
		want = bytes.TrimSuffix(want, []byte("\r\n"))
		if !bytes.Equal(d2.Data(), want) {
			t.Fatalf("round trip %q -> %q", want, d2.Data())
		}
	})
}

func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{"250 Ok", "250-Hello\n250-PIPELINING\n250 SIZE 10", "220", "250-a\n251 b", "hello", "250\tx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var p ReplyParser
		lines := bytes.Split(in, []byte("\n"))
		st := ReplyMore
		used := 0
		for _, l := range lines {
			l = bytes.TrimSuffix(l, []byte("\r"))
			st = p.Feed(l)
			used++
			if st != ReplyMore {
				break
			}
		}
		if st == ReplyDone {
			if len(p.Code) != 3 {
				t.Fatalf("code %q", p.Code)
			}
			for _, l := range lines[:used] {
				if !bytes.HasPrefix(l, []byte(p.Code)) {
					t.Fatalf("line %q does not carry code %s", l, p.Code)
				}
			}
			if got := strings.Count(p.Message(), "\r\n"); got < used-1 {
				t.Fatalf("message %q has %d breaks for %d lines", p.Message(), got, used)
			}
		}
	})
}
