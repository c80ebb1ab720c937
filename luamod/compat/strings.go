package compat

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (st *state) openString(L *lua.LState, g *lua.LTable) {
	t := libTable(g, "string")
	if t == nil {
		return
	}
	// The string metatable's __index is this same table, so method calls
	// ("x"):format(...) see the replacements too.
	st.strFind = t.RawGetString("find")
	setFuncs(L, t, map[string]lua.LGFunction{
		"format": strFormat,
		"rep":    strRep,
	})
	if _, ok := st.strFind.(*lua.LFunction); ok {
		t.RawSetString("find", L.NewFunction(st.strFindFn))
	}
}

// maxStringSize bounds strings built by string.rep and string.format.
const maxStringSize = 1 << 30

// strRep is 5.2's string.rep(s, n [, sep]).
func strRep(L *lua.LState) int {
	s := checkString(L, 1)
	n := checkInt(L, 2)
	sep := optString(L, 3, "")
	if n <= 0 {
		L.Push(lvEmpty)
		return 1
	}
	unit := int64(len(s) + len(sep))
	if unit > 0 && n > maxStringSize/unit {
		L.RaiseError("resulting string too large")
	}
	if sep == "" {
		L.Push(lua.LString(strings.Repeat(s, int(n))))
		return 1
	}
	var b strings.Builder
	b.Grow(int(unit*n) - len(sep))
	for i := int64(0); i < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// strFindFn fixes two gopher-lua string.find bugs before delegating: an
// empty pattern always returned 1, 0 whatever init was, and a plain find
// with init past the end crashed with a Go panic. 5.2: init past len+1
// finds nothing; an empty pattern matches at init.
func (st *state) strFindFn(L *lua.LState) int {
	s := checkString(L, 1)
	pat := checkString(L, 2)
	init := optInt(L, 3, 1)
	ls := int64(len(s))
	if init < 0 {
		init = ls + init + 1
		if init < 1 {
			init = 1
		}
	} else if init == 0 {
		init = 1
	}
	if init > ls+1 {
		L.Push(lua.LNil)
		return 1
	}
	if lua.LVAsBool(L.Get(4)) || noSpecials(pat) {
		// Plain search (also what 5.2 does for patterns without magic
		// characters): no need for the pattern matcher.
		k := strings.Index(s[init-1:], pat)
		if k < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(init + int64(k)))
		L.Push(lua.LNumber(init + int64(k+len(pat)) - 1))
		return 2
	}
	top := L.GetTop()
	L.Push(st.strFind)
	for i := 1; i <= top; i++ {
		L.Push(L.Get(i))
	}
	if top >= 3 {
		L.Replace(top+4, lua.LNumber(init))
	}
	L.Call(top, lua.MultRet)
	return L.GetTop() - top
}

// noSpecials reports whether a pattern has no magic characters.
func noSpecials(p string) bool {
	return !strings.ContainsAny(p, "^$*+?.([%-")
}

// fmtSpec is one parsed printf conversion.
type fmtSpec struct {
	minus, plus, space, alt, zero bool
	width                         int
	prec                          int // -1: none
}

// strFormat is string.format with 5.2 semantics, C printf output and
// %.14g numbers. %s uses tostring semantics (honours __tostring); %q
// produces a string literal that gopher-lua reads back.
func strFormat(L *lua.LState) int {
	fs := checkString(L, 1)
	top := L.GetTop()
	arg := 1
	buf := make([]byte, 0, len(fs)+16)
	for i := 0; i < len(fs); {
		c := fs[i]
		if c != '%' {
			j := strings.IndexByte(fs[i:], '%')
			if j < 0 {
				buf = append(buf, fs[i:]...)
				break
			}
			buf = append(buf, fs[i:i+j]...)
			i += j
			continue
		}
		i++
		if i < len(fs) && fs[i] == '%' {
			buf = append(buf, '%')
			i++
			continue
		}
		arg++
		if arg > top {
			L.ArgError(arg, "no value")
		}
		var sp fmtSpec
		sp.prec = -1
		start := i
		for i < len(fs) && strings.IndexByte("-+ #0", fs[i]) >= 0 {
			switch fs[i] {
			case '-':
				sp.minus = true
			case '+':
				sp.plus = true
			case ' ':
				sp.space = true
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			}
			i++
		}
		if i-start >= 6 {
			L.RaiseError("invalid format (repeated flags)")
		}
		for k := 0; k < 2 && i < len(fs) && isDigit(fs[i]); k++ {
			sp.width = sp.width*10 + int(fs[i]-'0')
			i++
		}
		if i < len(fs) && fs[i] == '.' {
			i++
			sp.prec = 0
			for k := 0; k < 2 && i < len(fs) && isDigit(fs[i]); k++ {
				sp.prec = sp.prec*10 + int(fs[i]-'0')
				i++
			}
		}
		if i < len(fs) && isDigit(fs[i]) {
			L.RaiseError("invalid format (width or precision too long)")
		}
		var conv byte
		if i < len(fs) {
			conv = fs[i]
			i++
		}
		switch conv {
		case 'c':
			ch := byte(checkInt(L, arg))
			buf = appendPadded(buf, "", []byte{ch}, &sp, false)
		case 'd', 'i':
			n := checkNumber(L, arg)
			if n != n || n >= 9223372036854775808.0 || n < -9223372036854775808.0 {
				L.ArgError(arg, "not a number in proper range")
			}
			buf = appendInt(buf, int64(n), &sp)
		case 'o', 'u', 'x', 'X':
			n := checkNumber(L, arg)
			// 5.2 rejects negative values here; 5.1 printed them as
			// two's complement, which is kept for 5.1-style code.
			if n != n || n >= 18446744073709551616.0 || n <= -9223372036854775809.0 {
				L.ArgError(arg, "not a non-negative number in proper range")
			}
			var u uint64
			if n < 0 {
				u = uint64(int64(n))
			} else {
				u = uint64(n)
			}
			buf = appendUint(buf, u, conv, &sp)
		case 'e', 'E', 'f', 'g', 'G', 'a', 'A':
			buf = appendFloat(buf, checkNumber(L, arg), conv, &sp)
		case 'q':
			buf = appendQuoted(buf, checkString(L, arg))
		case 's':
			s := tostringStrict(L, L.Get(arg))
			if sp.prec >= 0 && len(s) > sp.prec {
				s = s[:sp.prec]
			}
			if len(s) >= sp.width {
				buf = append(buf, s...)
			} else {
				sp.zero = false
				buf = appendPadded(buf, "", []byte(s), &sp, false)
			}
		default:
			if conv == 0 {
				L.RaiseError("%s", "invalid option '%' to 'format'")
			}
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
		if len(buf) > maxStringSize {
			L.RaiseError("resulting string too large")
		}
	}
	L.Push(lua.LString(buf))
	return 1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// appendPadded appends prefix+body padded to the spec's width: spaces on the
// left, spaces on the right with '-', or zeros between prefix and body with
// '0' when zeroOK.
func appendPadded(dst []byte, prefix string, body []byte, sp *fmtSpec, zeroOK bool) []byte {
	pad := sp.width - len(prefix) - len(body)
	if pad <= 0 {
		dst = append(dst, prefix...)
		return append(dst, body...)
	}
	switch {
	case sp.minus:
		dst = append(dst, prefix...)
		dst = append(dst, body...)
		for ; pad > 0; pad-- {
			dst = append(dst, ' ')
		}
	case sp.zero && zeroOK:
		dst = append(dst, prefix...)
		for ; pad > 0; pad-- {
			dst = append(dst, '0')
		}
		dst = append(dst, body...)
	default:
		for ; pad > 0; pad-- {
			dst = append(dst, ' ')
		}
		dst = append(dst, prefix...)
		dst = append(dst, body...)
	}
	return dst
}

// precDigits applies an integer precision (minimum digit count; ".0" with
// value 0 prints no digits).
func precDigits(digits []byte, prec int) []byte {
	if prec < 0 {
		return digits
	}
	if prec == 0 && len(digits) == 1 && digits[0] == '0' {
		return digits[:0]
	}
	if len(digits) >= prec {
		return digits
	}
	out := make([]byte, prec)
	k := prec - len(digits)
	for i := 0; i < k; i++ {
		out[i] = '0'
	}
	copy(out[k:], digits)
	return out
}

func appendInt(dst []byte, n int64, sp *fmtSpec) []byte {
	var tmp [24]byte
	var u uint64
	prefix := ""
	if n < 0 {
		u = uint64(-(n + 1)) + 1
		prefix = "-"
	} else {
		u = uint64(n)
		if sp.plus {
			prefix = "+"
		} else if sp.space {
			prefix = " "
		}
	}
	digits := precDigits(strconv.AppendUint(tmp[:0], u, 10), sp.prec)
	return appendPadded(dst, prefix, digits, sp, sp.prec < 0)
}

func appendUint(dst []byte, u uint64, conv byte, sp *fmtSpec) []byte {
	var tmp [24]byte
	var digits []byte
	prefix := ""
	switch conv {
	case 'o':
		digits = precDigits(strconv.AppendUint(tmp[:0], u, 8), sp.prec)
		if sp.alt && (len(digits) == 0 || digits[0] != '0') {
			digits = append([]byte{'0'}, digits...)
		}
	case 'u':
		digits = precDigits(strconv.AppendUint(tmp[:0], u, 10), sp.prec)
	case 'x', 'X':
		digits = precDigits(strconv.AppendUint(tmp[:0], u, 16), sp.prec)
		if conv == 'X' {
			for i, c := range digits {
				if c >= 'a' && c <= 'f' {
					digits[i] = c - 'a' + 'A'
				}
			}
		}
		if sp.alt && u != 0 {
			prefix = "0x"
			if conv == 'X' {
				prefix = "0X"
			}
		}
	}
	return appendPadded(dst, prefix, digits, sp, sp.prec < 0)
}

// appendFloat formats f for %e %E %f %g %G %a %A like glibc.
func appendFloat(dst []byte, f float64, conv byte, sp *fmtSpec) []byte {
	upper := conv == 'E' || conv == 'G' || conv == 'A'
	prefix := ""
	if math.Signbit(f) {
		prefix = "-"
		f = -f
	} else if sp.plus {
		prefix = "+"
	} else if sp.space {
		prefix = " "
	}
	var tmp [64]byte
	if math.IsInf(f, 0) || math.IsNaN(f) {
		body, _ := appendSpecial(tmp[:0], math.Abs(f), upper)
		return appendPadded(dst, prefix, body, sp, false)
	}
	prec := sp.prec
	var body []byte
	switch conv {
	case 'e', 'E':
		if prec < 0 {
			prec = 6
		}
		body = strconv.AppendFloat(tmp[:0], f, 'e', prec, 64)
		if sp.alt && prec == 0 {
			body = insertBefore(body, 'e', '.')
		}
		if upper {
			body = upperBytes(body)
		}
	case 'f':
		if prec < 0 {
			prec = 6
		}
		body = strconv.AppendFloat(tmp[:0], f, 'f', prec, 64)
		if sp.alt && prec == 0 {
			body = append(body, '.')
		}
	case 'g', 'G':
		if prec < 0 {
			prec = 6
		}
		body = appendG(tmp[:0], f, prec, sp.alt, upper)
	case 'a', 'A':
		body = strconv.AppendFloat(tmp[:0], f, 'x', prec, 64)
		// Go writes at least two exponent digits ("p+01"); C writes the minimum.
		p := len(body) - 1
		for body[p] != 'p' {
			p--
		}
		if len(body)-p > 3 && body[p+2] == '0' {
			body = append(body[:p+2], body[p+3:]...)
		}
		if sp.alt && !containsByte(body, '.') {
			body = insertBefore(body, 'p', '.')
		}
		if upper {
			body = upperBytes(body)
		}
		// The "0x" belongs to the prefix so that zero padding goes after it.
		prefix += string(body[:2])
		body = body[2:]
	}
	return appendPadded(dst, prefix, body, sp, true)
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// insertBefore inserts ins before the last occurrence of mark in b.
func insertBefore(b []byte, mark, ins byte) []byte {
	p := len(b) - 1
	for p >= 0 && b[p] != mark {
		p--
	}
	if p < 0 {
		return b
	}
	b = append(b, 0)
	copy(b[p+1:], b[p:])
	b[p] = ins
	return b
}

func upperBytes(b []byte) []byte {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

// appendQuoted writes s as a Lua string literal that both C Lua and
// gopher-lua read back byte for byte: \" \\ and backslash-newline, \r as
// "\r", other control characters as decimal escapes (three digits when a
// digit follows, so the escape cannot absorb it). Bytes >= 0x80 stay raw.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n':
			dst = append(dst, '\\', c)
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\')
			if i+1 < len(s) && isDigit(s[i+1]) {
				dst = append(dst, '0'+c/100, '0'+c/10%10, '0'+c%10)
			} else {
				dst = strconv.AppendInt(dst, int64(c), 10)
			}
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
