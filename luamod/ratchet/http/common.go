// Package http implements ratchet.http.common, the parsing and formatting
// helpers behind the Lua classes ratchet.http.client and ratchet.http.server
// (lua/ratchet/http/*.lua): strict line-by-line parsing of request and
// response heads (defect 4.18) with size limits, and header tables whose
// missing keys read as empty lists.
package http

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Header is one parsed header line.
type Header struct{ Name, Value string }

// Head is a parsed request or response head.
type Head struct {
	Method, URI string // request
	Version     string // "1.0", "1.1"...
	Code        int    // response
	Reason      string // response
	Headers     []Header
	Length      int // bytes of the head, blank line included
}

// Parse results.
const (
	Incomplete = iota // the blank line ending the head has not arrived
	OK
	Malformed // the first line is not a request (status) line
	TooLarge  // the head exceeds the limit
)

// nextLine returns the line at buf[pos:] without its terminator (CRLF or
// LF) and the position after it, or ok=false if no line end is buffered.
func nextLine(buf []byte, pos int) (line []byte, next int, ok bool) {
	i := bytes.IndexByte(buf[pos:], '\n')
	if i < 0 {
		return nil, pos, false
	}
	line = buf[pos : pos+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, pos + i + 1, true
}

func isWS(c byte) bool { return c == ' ' || c == '\t' }

// fields splits a line on runs of blanks.
func fields(line []byte) [][]byte {
	var out [][]byte
	for len(line) > 0 {
		for len(line) > 0 && isWS(line[0]) {
			line = line[1:]
		}
		j := 0
		for j < len(line) && !isWS(line[j]) {
			j++
		}
		if j > 0 {
			out = append(out, line[:j])
		}
		line = line[j:]
	}
	return out
}

// parseVersion accepts "HTTP/d.d" (HTTP in any case) and returns "d.d".
func parseVersion(b []byte) (string, bool) {
	if len(b) != 8 || !strings.EqualFold(string(b[:5]), "HTTP/") ||
		!isDigit(b[5]) || b[6] != '.' || !isDigit(b[7]) {
		return "", false
	}
	return string(b[5:]), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// parseHeaders reads header lines from pos up to the blank line.
func parseHeaders(buf []byte, pos, max int, h *Head) int {
	for {
		line, next, ok := nextLine(buf, pos)
		if !ok {
			if len(buf) > max {
				return TooLarge
			}
			return Incomplete
		}
		if next > max {
			return TooLarge
		}
		pos = next
		if len(line) == 0 {
			h.Length = pos
			return OK
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 || !isToken(line[:c]) {
			continue // not a header line: ignored, never merged with others
		}
		v := line[c+1:]
		for len(v) > 0 && isWS(v[0]) {
			v = v[1:]
		}
		for len(v) > 0 && isWS(v[len(v)-1]) {
			v = v[:len(v)-1]
		}
		h.Headers = append(h.Headers, Header{strings.ToLower(string(line[:c])), string(v)})
	}
}

// ParseRequest parses the head of a request at the start of buf: the
// request line "METHOD uri HTTP/d.d" (blank-separated), the header lines
// and the blank line. max bounds the head size.
func ParseRequest(buf []byte, max int) (*Head, int) {
	line, next, ok := nextLine(buf, 0)
	if !ok {
		if len(buf) > max {
			return nil, TooLarge
		}
		if len(buf) > 0 && !requestPrefixOK(buf) {
			return nil, Malformed
		}
		return nil, Incomplete
	}
	f := fields(line)
	if len(f) != 3 || !isToken(f[0]) {
		return nil, Malformed
	}
	ver, ok := parseVersion(f[2])
	if !ok {
		return nil, Malformed
	}
	h := &Head{Method: strings.ToUpper(string(f[0])), URI: string(f[1]), Version: ver}
	st := parseHeaders(buf, next, max, h)
	if st != OK {
		return nil, st
	}
	return h, OK
}

// requestPrefixOK tells early whether an unterminated first line can still
// become a request line (it starts with a method token).
func requestPrefixOK(buf []byte) bool {
	i := 0
	for i < len(buf) && !isWS(buf[i]) && buf[i] != '\r' {
		c := buf[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		i++
	}
	return true
}

// ParseResponse parses a response head: "HTTP/d.d NNN reason".
func ParseResponse(buf []byte, max int) (*Head, int) {
	line, next, ok := nextLine(buf, 0)
	if !ok {
		if len(buf) > max {
			return nil, TooLarge
		}
		return nil, Incomplete
	}
	sp := bytes.IndexAny(line, " \t")
	if sp < 0 {
		return nil, Malformed
	}
	ver, ok := parseVersion(line[:sp])
	if !ok {
		return nil, Malformed
	}
	rest := line[sp:]
	for len(rest) > 0 && isWS(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) < 3 || !isDigit(rest[0]) || !isDigit(rest[1]) || !isDigit(rest[2]) ||
		(len(rest) > 3 && !isWS(rest[3])) {
		return nil, Malformed
	}
	code, _ := strconv.Atoi(string(rest[:3]))
	reason := rest[3:]
	for len(reason) > 0 && isWS(reason[0]) {
		reason = reason[1:]
	}
	h := &Head{Version: ver, Code: code, Reason: string(reason)}
	st := parseHeaders(buf, next, max, h)
	if st != OK {
		return nil, st
	}
	return h, OK
}

// cleanField removes characters that would split or corrupt a head line.
func cleanField(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) < 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}

// ---- Lua module ----

const headersMetaKey = "ratchet.http.headers.meta"

// headersMeta: a missing key is looked up lower-cased, then reads as a
// fresh empty table.
func headersMeta(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(headersMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		if k, ok := L.Get(2).(lua.LString); ok {
			if v := t.RawGetString(strings.ToLower(string(k))); v != lua.LNil {
				L.Push(v)
				return 1
			}
		}
		L.Push(L.NewTable())
		return 1
	}))
	L.G.Registry.RawSetString(headersMetaKey, mt)
	return mt
}

func headersTable(L *lua.LState, hs []Header) *lua.LTable {
	t := L.NewTable()
	for _, h := range hs {
		list, ok := t.RawGetString(h.Name).(*lua.LTable)
		if !ok {
			list = L.NewTable()
			t.RawSetString(h.Name, list)
		}
		list.Append(lua.LString(h.Value))
	}
	L.SetMetatable(t, headersMeta(L))
	return t
}

var statusNames = [...]string{Incomplete: "incomplete", OK: "ok", Malformed: "malformed", TooLarge: "too large"}

// Open builds ratchet.http.common.
func Open(L *lua.LState) *lua.LTable {
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		// parse_request(buf, max_head) -> request table, or nil + status
		"parse_request": func(L *lua.LState) int {
			buf := L.CheckString(1)
			h, st := ParseRequest([]byte(buf), L.OptInt(2, 64<<10))
			if st != OK {
				L.Push(lua.LNil)
				L.Push(lua.LString(statusNames[st]))
				return 2
			}
			t := L.NewTable()
			t.RawSetString("method", lua.LString(h.Method))
			t.RawSetString("uri", lua.LString(h.URI))
			t.RawSetString("version", lua.LString(h.Version))
			t.RawSetString("headers", headersTable(L, h.Headers))
			t.RawSetString("head_length", lua.LNumber(h.Length))
			L.Push(t)
			return 1
		},
		// parse_response(buf, max_head) -> code, reason, headers, body
		// (body nil when no blank line ends the head), or nothing.
		"parse_response": func(L *lua.LState) int {
			buf := L.CheckString(1)
			h, st := ParseResponse([]byte(buf), L.OptInt(2, 64<<10))
			switch st {
			case OK:
				L.Push(lua.LNumber(h.Code))
				L.Push(lua.LString(h.Reason))
				L.Push(headersTable(L, h.Headers))
				L.Push(lua.LString(buf[h.Length:]))
				return 4
			case Incomplete, TooLarge:
				// a status line without a complete head: what it has
				line, _, ok := nextLine([]byte(buf), 0)
				if !ok {
					return 0
				}
				h, st = ParseResponse(append(append([]byte(nil), line...), "\r\n\r\n"...), len(line)+4)
				if st != OK {
					return 0
				}
				L.Push(lua.LNumber(h.Code))
				L.Push(lua.LString(h.Reason))
				L.Push(headersTable(L, nil))
				L.Push(lua.LNil)
				return 4
			}
			return 0
		},
		// build_head(first_line, headers) -> head text ending in a blank
		// line; one line per value, values converted with tostring, names
		// sorted for a stable order; control characters are blanked.
		"build_head": func(L *lua.LState) int {
			first := L.CheckString(1)
			var b strings.Builder
			b.WriteString(cleanField(first))
			b.WriteString("\r\n")
			if t, ok := L.Get(2).(*lua.LTable); ok {
				type kv struct {
					k string
					v lua.LValue
				}
				var list []kv
				t.ForEach(func(k, v lua.LValue) { list = append(list, kv{L.ToStringMeta(k).String(), v}) })
				sort.SliceStable(list, func(i, j int) bool { return list[i].k < list[j].k })
				for _, e := range list {
					name := cleanField(e.k)
					name = strings.NewReplacer(":", "", " ", "").Replace(name)
					vals, ok := e.v.(*lua.LTable)
					if !ok {
						vals = L.NewTable()
						vals.Append(e.v)
					}
					n := vals.Len()
					for i := 1; i <= n; i++ {
						b.WriteString(name)
						b.WriteString(": ")
						b.WriteString(cleanField(L.ToStringMeta(vals.RawGetInt(i)).String()))
						b.WriteString("\r\n")
					}
				}
			}
			b.WriteString("\r\n")
			L.Push(lua.LString(b.String()))
			return 1
		},
		// new_headers([t]) gives t (or a new table) the header metatable.
		"new_headers": func(L *lua.LState) int {
			t, ok := L.Get(1).(*lua.LTable)
			if !ok {
				t = L.NewTable()
			}
			L.SetMetatable(t, headersMeta(L))
			L.Push(t)
			return 1
		},
		// clean(s): s with control characters blanked.
		"clean": func(L *lua.LState) int {
			L.Push(lua.LString(cleanField(L.CheckString(1))))
			return 1
		},
	})
}
