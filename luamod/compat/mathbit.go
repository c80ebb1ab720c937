package compat

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

func openMath(L *lua.LState, g *lua.LTable) {
	if t := libTable(g, "math"); t != nil {
		t.RawSetString("log", L.NewFunction(mathLog))
	}
}

// mathLog is math.log(x [, base]); gopher-lua ignores the base.
func mathLog(L *lua.LState) int {
	x := checkNumber(L, 1)
	var r float64
	if L.Get(2) == lua.LNil {
		r = math.Log(x)
	} else {
		switch b := checkNumber(L, 2); b {
		case 2:
			r = math.Log2(x)
		case 10:
			r = math.Log10(x)
		default:
			r = math.Log(x) / math.Log(b)
		}
	}
	L.Push(lua.LNumber(r))
	return 1
}

// bit32 (Lua 5.2) operates on 32-bit unsigned integers.

const allOnes = ^uint32(0)

// toUnsigned converts like 5.2's lua_number2unsigned on x86-64: the value
// is reduced modulo 2^32 (floor), then the fraction is dropped.
func toUnsigned(f float64) uint32 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	const sup = 4294967296.0
	r := f - math.Floor(f/sup)*sup
	return uint32(int64(r))
}

func checkUnsigned(L *lua.LState, n int) uint32 { return toUnsigned(checkNumber(L, n)) }

func pushUnsigned(L *lua.LState, u uint32) int {
	L.Push(lua.LNumber(u))
	return 1
}

func openBit32(L *lua.LState, g *lua.LTable) {
	t := L.NewTable()
	setFuncs(L, t, map[string]lua.LGFunction{
		"arshift": bitArshift,
		"band":    bitBand,
		"bnot":    bitBnot,
		"bor":     bitBor,
		"btest":   bitBtest,
		"bxor":    bitBxor,
		"extract": bitExtract,
		"lrotate": bitLrotate,
		"lshift":  bitLshift,
		"replace": bitReplace,
		"rrotate": bitRrotate,
		"rshift":  bitRshift,
	})
	g.RawSetString("bit32", t)
}

func andAll(L *lua.LState) uint32 {
	r := allOnes
	for i := 1; i <= L.GetTop(); i++ {
		r &= checkUnsigned(L, i)
	}
	return r
}

func bitBand(L *lua.LState) int { return pushUnsigned(L, andAll(L)) }

func bitBtest(L *lua.LState) int {
	L.Push(lua.LBool(andAll(L) != 0))
	return 1
}

func bitBor(L *lua.LState) int {
	var r uint32
	for i := 1; i <= L.GetTop(); i++ {
		r |= checkUnsigned(L, i)
	}
	return pushUnsigned(L, r)
}

func bitBxor(L *lua.LState) int {
	var r uint32
	for i := 1; i <= L.GetTop(); i++ {
		r ^= checkUnsigned(L, i)
	}
	return pushUnsigned(L, r)
}

func bitBnot(L *lua.LState) int { return pushUnsigned(L, ^checkUnsigned(L, 1)) }

// shift shifts left for positive i and right for negative i; shifts of 32
// or more give 0.
func shift(r uint32, i int64) uint32 {
	if i < 0 {
		if i <= -32 {
			return 0
		}
		return r >> uint(-i)
	}
	if i >= 32 {
		return 0
	}
	return r << uint(i)
}

func bitLshift(L *lua.LState) int {
	return pushUnsigned(L, shift(checkUnsigned(L, 1), checkInt(L, 2)))
}

func bitRshift(L *lua.LState) int {
	i := checkInt(L, 2)
	if i == math.MinInt64 {
		i++ // keep -i representable; any shift this large gives 0
	}
	return pushUnsigned(L, shift(checkUnsigned(L, 1), -i))
}

func bitArshift(L *lua.LState) int {
	r := checkUnsigned(L, 1)
	i := checkInt(L, 2)
	if i < 0 || r&0x80000000 == 0 {
		if i == math.MinInt64 {
			i++
		}
		return pushUnsigned(L, shift(r, -i))
	}
	if i >= 32 {
		return pushUnsigned(L, allOnes)
	}
	return pushUnsigned(L, (r>>uint(i))|^(allOnes>>uint(i)))
}

func rotate(r uint32, i int64) uint32 {
	n := uint(i & 31)
	return r<<n | r>>((32-n)&31)
}

func bitLrotate(L *lua.LState) int {
	return pushUnsigned(L, rotate(checkUnsigned(L, 1), checkInt(L, 2)))
}

func bitRrotate(L *lua.LState) int {
	return pushUnsigned(L, rotate(checkUnsigned(L, 1), -checkInt(L, 2)))
}

// fieldArgs checks the field and width arguments of extract/replace.
func fieldArgs(L *lua.LState, farg int) (uint, uint32) {
	f := checkInt(L, farg)
	w := optInt(L, farg+1, 1)
	if f < 0 {
		L.ArgError(farg, "field cannot be negative")
	}
	if w <= 0 {
		L.ArgError(farg+1, "width must be positive")
	}
	if f > 32 || w > 32 || f+w > 32 {
		L.RaiseError("trying to access non-existent bits")
	}
	ones := allOnes
	mask := ^((ones << 1) << uint(w-1))
	return uint(f), mask
}

func bitExtract(L *lua.LState) int {
	r := checkUnsigned(L, 1)
	f, m := fieldArgs(L, 2)
	return pushUnsigned(L, (r>>f)&m)
}

func bitReplace(L *lua.LState) int {
	r := checkUnsigned(L, 1)
	v := checkUnsigned(L, 2)
	f, m := fieldArgs(L, 3)
	v &= m
	return pushUnsigned(L, (r & ^(m<<f))|(v<<f))
}
