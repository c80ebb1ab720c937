// Package smtp implements the hot paths of ratchet.smtp in Go: buffered line
// I/O (ratchet.smtp.smtp_io), the DATA reader and sender
// (ratchet.smtp.data_reader / data_sender) and the whole server session loop,
// which calls the Lua handler hooks. The client, reply and extension classes
// are Lua (lua/ratchet/smtp/*.lua) built on these objects.
package smtp

import (
	"bytes"
	"strconv"
)

// ParseCommand splits a command line into its verb and argument as
// smtp_io:recv_command() does: the verb is the leading run of ASCII letters
// (upper-cased), the argument the rest with surrounding blanks trimmed. A line
// that does not start with a letter is returned whole as the verb, with an
// empty argument. The returned verb aliases line when it needs no case change.
func ParseCommand(line []byte) (verb, arg []byte) {
	i := 0
	for i < len(line) && isLetter(line[i]) {
		i++
	}
	if i == 0 {
		return line, nil
	}
	verb = line[:i]
	for _, c := range verb {
		if c >= 'a' && c <= 'z' {
			verb = bytes.ToUpper(verb)
			break
		}
	}
	return verb, trimBlank(line[i:])
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func trimBlank(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// PathArg is a parsed MAIL FROM / RCPT TO argument.
type PathArg struct {
	Addr    []byte // text between the angle brackets
	Size    int64  // SIZE= value, -1 when absent
	BadSize bool   // SIZE= present but not a number
}

// ParsePathArg parses "FROM:<addr> params" (prefix "FROM:" or "TO:", any
// case). Blanks may follow the colon; the address ends at the first '>' that
// is not inside a double-quoted string (a backslash escapes the next
// character inside quotes). Of the parameters only SIZE= is interpreted.
// ok is false for a syntax error.
func ParsePathArg(arg []byte, prefix string) (p PathArg, ok bool) {
	p.Size = -1
	if len(arg) < len(prefix) || !asciiEqualFold(arg[:len(prefix)], prefix) {
		return p, false
	}
	rest := arg[len(prefix):]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0] != '<' {
		return p, false
	}
	rest = rest[1:]
	end := -1
	quoted := false
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '>' && !quoted:
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return p, false
	}
	p.Addr = rest[:end]
	params := rest[end+1:]
	for len(params) > 0 {
		for len(params) > 0 && (params[0] == ' ' || params[0] == '\t') {
			params = params[1:]
		}
		j := 0
		for j < len(params) && params[j] != ' ' && params[j] != '\t' {
			j++
		}
		kv := params[:j]
		params = params[j:]
		if len(kv) >= 5 && asciiEqualFold(kv[:5], "SIZE=") {
			n, err := strconv.ParseInt(string(kv[5:]), 10, 64)
			if err != nil || n < 0 {
				p.BadSize = true
			} else {
				p.Size = n
			}
		}
	}
	return p, true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if y >= 'a' && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// splitESC recognises an enhanced status code prefix "c.s.d" (c in 2,4,5; s
// and d of one to three digits) followed by one whitespace character. It
// returns the code and the message without prefix and whitespace.
func splitESC(msg string) (esc, rest string, ok bool) {
	if len(msg) < 6 || (msg[0] != '2' && msg[0] != '4' && msg[0] != '5') || msg[1] != '.' {
		return "", msg, false
	}
	i := 2
	n := digits(msg, i)
	if n < 1 || n > 3 {
		return "", msg, false
	}
	i += n
	if i >= len(msg) || msg[i] != '.' {
		return "", msg, false
	}
	i++
	n = digits(msg, i)
	if n < 1 || n > 3 {
		return "", msg, false
	}
	i += n
	if i >= len(msg) || !isBlank(msg[i]) {
		return "", msg, false
	}
	return msg[:i], msg[i+1:], true
}

func digits(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '9' {
		n++
	}
	return n
}

// escSubjectDetail returns "s.d" when esc has the form c.s.d (c in 2,4,5).
func escSubjectDetail(esc string) (string, bool) {
	e, _, ok := splitESC(esc + " ")
	if !ok || len(e) != len(esc) {
		return "", false
	}
	return esc[2:], true
}

// ApplyESC performs the enhanced-status-code formatting of ratchet's server
// (spec ratchet.md 2.13): a leading ESC-looking prefix is cut from message
// (and used when esc is empty); for codes of class 2, 4 or 5 the final code
// "<class>.s.d" prefixes every line of the message.
func ApplyESC(code, message, esc string) string {
	if pfx, rest, ok := splitESC(message); ok {
		message = rest
		if esc == "" {
			esc = pfx
		}
	}
	if len(code) == 0 || (code[0] != '2' && code[0] != '4' && code[0] != '5') {
		return message
	}
	sd, ok := escSubjectDetail(esc)
	if !ok {
		sd = "0.0"
	}
	full := code[:1] + "." + sd + " "
	var b []byte
	b = append(b, full...)
	for i := 0; i < len(message); i++ {
		c := message[i]
		b = append(b, c)
		if c == '\n' {
			b = append(b, full...)
		}
	}
	return string(b)
}

// AppendReply appends the wire form of a reply: the message is split on line
// breaks (LF, CRLF); every line but the last is sent as "code-line", the last
// as "code line", each ending in CRLF. Stray CR characters are replaced by
// spaces so that no message can inject extra protocol lines.
func AppendReply(b []byte, code, message string) []byte {
	for {
		i := indexByteString(message, '\n')
		if i < 0 {
			break
		}
		line := message[:i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		b = append(b, code...)
		b = append(b, '-')
		b = appendNoCR(b, line)
		b = append(b, '\r', '\n')
		message = message[i+1:]
	}
	b = append(b, code...)
	b = append(b, ' ')
	b = appendNoCR(b, message)
	return append(b, '\r', '\n')
}

func appendNoCR(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == 0 {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// ReplyParser assembles one (possibly multi-line) SMTP reply from lines, as
// smtp_io:recv_reply() does. Lines are copied: the caller may reuse them.
type ReplyParser struct {
	Code string
	msg  []byte
	n    int
}

// MaxReplyLines bounds the number of lines of one reply.
const MaxReplyLines = 1000

// ReplyStatus is the result of feeding one line to a ReplyParser.
type ReplyStatus int

// Feed results.
const (
	ReplyMore    ReplyStatus = iota // continuation line: feed the next one
	ReplyDone                       // last line seen: Message() is ready
	ReplyInvalid                    // line does not fit: the reply is malformed
)

// Reset prepares the parser for a new reply.
func (p *ReplyParser) Reset() { p.Code, p.msg, p.n = "", p.msg[:0], 0 }

// Feed adds one line (without its terminator).
func (p *ReplyParser) Feed(line []byte) ReplyStatus {
	if len(line) < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) {
		return ReplyInvalid
	}
	if p.n == 0 {
		p.Code = string(line[:3])
	} else if string(line[:3]) != p.Code {
		return ReplyInvalid
	}
	if p.n > 0 {
		p.msg = append(p.msg, '\r', '\n')
	}
	p.n++
	if len(line) == 3 {
		return ReplyDone
	}
	switch line[3] {
	case '-':
		if p.n >= MaxReplyLines {
			return ReplyInvalid
		}
		p.msg = append(p.msg, line[4:]...)
		return ReplyMore
	case ' ', '\t':
		p.msg = append(p.msg, line[4:]...)
		return ReplyDone
	}
	return ReplyInvalid
}

// Message returns the lines' texts joined with CRLF.
func (p *ReplyParser) Message() string { return string(p.msg) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
