package compat

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// ref14g is an independent %.14g: math/big converts the double to decimal
// exactly and rounds half to even (as glibc does in the default rounding
// mode); the %g style rules are then applied with plain string operations.
func ref14g(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	s := new(big.Float).SetFloat64(f).Text('e', 13)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mant, exp, _ := strings.Cut(s, "e")
	x, err := strconv.Atoi(exp)
	if err != nil {
		panic(err)
	}
	digits := strings.Replace(mant, ".", "", 1)
	if len(digits) != 14 {
		panic("unexpected digits " + s)
	}
	if x < -4 || x >= 14 {
		r := digits[:1]
		if frac := strings.TrimRight(digits[1:], "0"); frac != "" {
			r += "." + frac
		}
		return sign + r + fmt.Sprintf("e%+03d", x)
	}
	if x >= 0 {
		r := digits[:x+1]
		if frac := strings.TrimRight(digits[x+1:], "0"); frac != "" {
			r += "." + frac
		}
		return sign + r
	}
	return sign + "0." + strings.Repeat("0", -x-1) + strings.TrimRight(digits, "0")
}

func FuzzFormatNumber(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.1, 1.0 / 3, 1e14, 1e15, 123456789012345, math.Pow(2, 53),
		1700000000.5, 5e-324, math.MaxFloat64, 1e-5, 0.0001} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		got := FormatNumber(v)
		if want := ref14g(v); got != want {
			t.Fatalf("FormatNumber(%v) [%016x] = %q, reference %q", v, bits, got, want)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		back, err := strconv.ParseFloat(got, 64)
		if err != nil {
			t.Fatalf("%q does not parse: %v", got, err)
		}
		if v != 0 && math.Abs(back-v) > 1e-13*math.Abs(v) {
			t.Fatalf("%q parses to %v, too far from %v", got, back, v)
		}
		if p, ok := ParseNumber(got); !ok || p != back {
			t.Fatalf("ParseNumber(%q) = %v, %v; want %v", got, p, ok, back)
		}
	})
}

var (
	// What strtod-based lua_str2number accepts (without inf/nan), after
	// trimming C whitespace.
	reDecimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	reHex     = regexp.MustCompile(`^([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?[0-9]+)?$`)
)

const cSpace = " \t\n\v\f\r"

func FuzzTonumber(f *testing.F) {
	for _, s := range []string{"1e2", "2e-1", "0x1A", " 10 ", "1.5E3", "1e", "", "0x", "abc", "1 2",
		"-0x1.8p3", ".5", "5.", "1e400", "ff", "  -Zz ", "0x10", "+7", "1\x00"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(16))
	}
	L := lua.NewState()
	Open(L, Options{})
	tonumber := L.GetGlobal("tonumber")
	f.Fuzz(func(t *testing.T, s string, base uint8) {
		if base == 0 || base == 1 || base > 36 {
			v, ok := ParseNumber(s)
			trimmed := strings.Trim(s, cSpace)
			isDec := reDecimal.MatchString(trimmed)
			hexm := reHex.FindStringSubmatch(trimmed)
			if ok != (isDec || hexm != nil) {
				t.Fatalf("ParseNumber(%q) ok=%v, reference decimal=%v hex=%v", s, ok, isDec, hexm != nil)
			}
			if isDec {
				want, err := strconv.ParseFloat(trimmed, 64)
				if err != nil && !strings.Contains(err.Error(), "range") {
					t.Fatalf("reference parse of %q: %v", trimmed, err)
				}
				if math.Float64bits(want) != math.Float64bits(v) {
					t.Fatalf("ParseNumber(%q) = %v, want %v", s, v, want)
				}
			}
			if hexm != nil && len(trimmed) < 200 {
				mant := hexm[2]
				exp := int64(0)
				if hexm[3] != "" {
					e, err := strconv.ParseInt(hexm[3][1:], 10, 64)
					if err != nil || e > 1e6 || e < -1e6 {
						return // huge exponents: only acceptance is checked
					}
					exp = e
				}
				intPart, frac, _ := strings.Cut(mant, ".")
				n, ok := new(big.Int).SetString("0"+intPart+frac, 16)
				if !ok {
					t.Fatalf("reference hex %q", mant)
				}
				want := new(big.Float).SetPrec(2000).SetInt(n)
				want.SetMantExp(want, int(exp)-4*len(frac))
				w, _ := want.Float64()
				if hexm[1] == "-" {
					w = -w
				}
				if w != v {
					t.Fatalf("ParseNumber(%q) = %v, want %v", s, v, w)
				}
			}
			// Lua's tonumber agrees.
			if err := L.CallByParam(lua.P{Fn: tonumber, NRet: 1, Protect: true}, lua.LString(s)); err != nil {
				t.Fatal(err)
			}
			r := L.Get(-1)
			L.Pop(1)
			if ok {
				if n, isNum := r.(lua.LNumber); !isNum || math.Float64bits(float64(n)) != math.Float64bits(v) {
					t.Fatalf("tonumber(%q) = %v, want %v", s, r, v)
				}
			} else if r != lua.LNil {
				t.Fatalf("tonumber(%q) = %v, want nil", s, r)
			}
			return
		}
		// With a base: compare with strconv on short inputs.
		v, ok := parseBase(s, int(base))
		trimmed := strings.Trim(s, cSpace)
		digits := strings.TrimPrefix(trimmed, "-")
		if digits == trimmed {
			digits = strings.TrimPrefix(trimmed, "+")
		}
		valid := digits != "" && strings.IndexFunc(digits, func(r rune) bool {
			d := 99
			switch {
			case r >= '0' && r <= '9':
				d = int(r - '0')
			case r >= 'a' && r <= 'z':
				d = int(r-'a') + 10
			case r >= 'A' && r <= 'Z':
				d = int(r-'A') + 10
			}
			return d >= int(base)
		}) < 0
		if ok != valid {
			t.Fatalf("parseBase(%q, %d) ok=%v, reference %v", s, base, ok, valid)
		}
		if ok && len(digits) <= 8 {
			want, err := strconv.ParseInt(strings.TrimPrefix(trimmed, "+"), int(base), 64)
			if err != nil || float64(want) != v {
				t.Fatalf("parseBase(%q, %d) = %v, want %v (%v)", s, base, v, want, err)
			}
		}
	})
}
