package compat

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// Number formatting and parsing with C Lua 5.2 semantics.
//
// C Lua prints numbers with printf("%.14g") and reads them with strtod
// (plus its own hex reader). gopher-lua uses Go's shortest round-trip
// formatting and strconv.ParseInt/ParseFloat, which disagree with C for
// values such as 2^53, 1/3, 1e15, inf, nan, -0 and strings such as "1e2".
// Mail code puts these numbers on the wire, so they must match.

// smallInts caches the formatted form of small non-negative integers, the
// most common numbers in mail code (SMTP reply codes, counters, ports):
// tostring of them then allocates nothing.
var smallInts [1024]string

func init() {
	for i := range smallInts {
		smallInts[i] = strconv.Itoa(i)
		boxedInts[i] = lua.LString(smallInts[i])
	}
}

// FormatNumber formats f exactly as C's printf("%.14g", f) does with glibc,
// which is how Lua 5.1 and 5.2 convert numbers to strings.
func FormatNumber(f float64) string {
	if f >= 0 && f < float64(len(smallInts)) {
		if i := int(f); float64(i) == f && (i != 0 || !math.Signbit(f)) {
			return smallInts[i]
		}
	}
	var buf [32]byte
	return string(appendNumber(buf[:0], f))
}

// appendNumber appends the %.14g form of f to dst.
func appendNumber(dst []byte, f float64) []byte {
	// Integers below 1e14 have at most 14 digits and so print exactly,
	// without exponent: the common case, done without float formatting.
	if f > -1e14 && f < 1e14 {
		if i := int64(f); float64(i) == f {
			if i == 0 && math.Signbit(f) {
				return append(dst, '-', '0')
			}
			return strconv.AppendInt(dst, i, 10)
		}
	}
	return appendG(dst, f, 14, false, false)
}

// appendSpecial appends inf/nan the way glibc prints them. It reports false
// for finite f.
func appendSpecial(dst []byte, f float64, upper bool) ([]byte, bool) {
	var s string
	switch {
	case math.IsInf(f, 1):
		s = "inf"
	case math.IsInf(f, -1):
		s = "-inf"
	case math.IsNaN(f):
		// glibc prints the sign bit of a NaN; on x86 0/0 yields a negative NaN.
		if math.Signbit(f) {
			s = "-nan"
		} else {
			s = "nan"
		}
	default:
		return dst, false
	}
	if upper {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst, true
	}
	return append(dst, s...), true
}

// appendG implements C's %.<prec>g (alt is the '#' flag, upper is %G) for
// any f, including the sign. It never pads.
func appendG(dst []byte, f float64, prec int, alt, upper bool) []byte {
	if d, ok := appendSpecial(dst, f, upper); ok {
		return d
	}
	if prec == 0 {
		prec = 1
	}
	// strconv rounds correctly (round half to even on exact ties), as glibc
	// does in the default rounding mode; %e with prec-1 gives exactly the
	// prec significant digits that %g needs and the exponent X after rounding.
	var tmp [40]byte
	var e []byte
	if prec <= 17 {
		e = strconv.AppendFloat(tmp[:0], f, 'e', prec-1, 64)
	} else {
		e = strconv.AppendFloat(make([]byte, 0, prec+8), f, 'e', prec-1, 64)
	}
	neg := false
	if e[0] == '-' {
		neg = true
		e = e[1:]
	}
	// e is "d[.ddd]e±XX".
	epos := len(e) - 1
	for e[epos] != 'e' {
		epos--
	}
	x := 0
	for _, c := range e[epos+2:] {
		x = x*10 + int(c-'0')
	}
	if e[epos+1] == '-' {
		x = -x
	}
	// Collect the significant digits.
	var digs [40]byte
	var d []byte
	if prec <= len(digs) {
		d = digs[:0]
	} else {
		d = make([]byte, 0, prec)
	}
	d = append(d, e[0])
	if epos > 1 {
		d = append(d, e[2:epos]...)
	}
	if neg {
		dst = append(dst, '-')
	}
	if x < -4 || x >= prec {
		// Exponent style.
		if !alt {
			d = trimZeros(d, 1)
		}
		dst = append(dst, d[0])
		if len(d) > 1 || alt {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		if upper {
			dst = append(dst, 'E')
		} else {
			dst = append(dst, 'e')
		}
		return append(dst, e[epos+1:]...)
	}
	// Fixed style with prec-1-x digits after the point.
	if x >= 0 {
		intPart := d[:x+1]
		frac := d[x+1:]
		if !alt {
			frac = trimZeros(frac, 0)
		}
		dst = append(dst, intPart...)
		if len(frac) > 0 || alt {
			dst = append(dst, '.')
			dst = append(dst, frac...)
		}
		return dst
	}
	if !alt {
		d = trimZeros(d, 1)
	}
	dst = append(dst, '0', '.')
	for i := -1; i > x; i-- {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// trimZeros removes trailing '0' bytes from d, keeping at least keep bytes.
func trimZeros(d []byte, keep int) []byte {
	n := len(d)
	for n > keep && d[n-1] == '0' {
		n--
	}
	return d[:n]
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// ParseNumber converts s to a number the way Lua 5.2's tonumber does
// without a base: optional surrounding whitespace, an optional sign, then a
// decimal number (strtod syntax without inf/nan) or a hexadecimal one
// ("0x1A", "0x1.8p3"). It reports false when s is not entirely a number.
func ParseNumber(s string) (float64, bool) {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	if i == j {
		return 0, false
	}
	body := s[i:j]
	neg := false
	p := 0
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		p = 1
	}
	if p+1 < len(body) && body[p] == '0' && (body[p+1] == 'x' || body[p+1] == 'X') {
		v, ok := parseHex(body[p+2:])
		if !ok {
			return 0, false
		}
		if neg {
			v = -v
		}
		return v, true
	}
	if !validDecimal(body[p:]) {
		return 0, false
	}
	v, err := strconv.ParseFloat(body, 64)
	if err != nil {
		// Out of range: strtod returns ±HUGE_VAL or 0, which Lua accepts;
		// strconv returns the same values along with the error.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return v, true
}

// validDecimal checks strtod's decimal syntax (after the sign):
// digits [. digits] [(e|E) [sign] digits], with at least one mantissa digit.
// It filters out what strconv accepts but strtod does not (underscores,
// "inf", "nan") so that ParseFloat only sees valid input.
func validDecimal(s string) bool {
	i, n := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		n++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		m := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			m++
		}
		if m == 0 {
			return false
		}
	}
	return i == len(s)
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// parseHex reads the part of a hexadecimal number after "0x":
// hexdigits [. hexdigits] [(p|P) [sign] decimal digits].
func parseHex(s string) (float64, bool) {
	i, n := 0, 0
	for i < len(s) && hexDigit(s[i]) >= 0 {
		i++
		n++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && hexDigit(s[i]) >= 0 {
			i++
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	mant := s[:i]
	exp := "p0"
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		m := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			m++
		}
		if m == 0 {
			return 0, false
		}
		exp = s[i:j]
		i = j
	}
	if i != len(s) {
		return 0, false
	}
	// strconv needs the 'p' exponent for hex floats; it rounds correctly.
	v, err := strconv.ParseFloat("0x"+mant+exp, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return v, true
}

// parseBase converts s in the given base (2..36) like Lua 5.2's
// tonumber(s, base): optional whitespace, optional sign, alphanumeric digits
// below base, optional whitespace. No "0x" prefix is skipped.
func parseBase(s string, base int) (float64, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var n float64
	digits := 0
	for i < len(s) {
		c := s[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			d = 99
		}
		if d >= base {
			break
		}
		n = n*float64(base) + float64(d)
		digits++
		i++
	}
	if digits == 0 {
		return 0, false
	}
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i != len(s) {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
