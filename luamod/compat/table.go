package compat

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func (st *state) openTable(L *lua.LState, g *lua.LTable) {
	t := libTable(g, "table")
	if t == nil {
		return
	}
	setFuncs(L, t, map[string]lua.LGFunction{
		"concat": tableConcat,
		"pack":   tablePack,
	})
	// One function for both names, as in 5.2.
	t.RawSetString("unpack", g.RawGetString("unpack"))
}

// tableLen is luaL_len: the length with __len honoured.
func tableLen(L *lua.LState, t *lua.LTable) int64 {
	if t.Metatable == lua.LNil {
		return int64(t.Len())
	}
	return int64(L.ObjLen(t))
}

// tableConcat is 5.2's table.concat(t [, sep [, i [, j]]]). gopher-lua's
// pushes every item on the registry and overflows it near 2,556 items; this
// one builds the result directly. Like 5.2, i and j are not clamped: a
// missing item in the range is an error.
func tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := optString(L, 2, "")
	i := optInt(L, 3, 1)
	var j int64
	if L.Get(4) == lua.LNil {
		j = tableLen(L, t)
	} else {
		j = checkInt(L, 4)
	}
	if i > j {
		L.Push(lvEmpty)
		return 1
	}
	// First pass: validate and size the result so it is allocated once.
	size := 0
	for k := i; k <= j; k++ {
		switch v := t.RawGetInt(int(k)).(type) {
		case lua.LString:
			size += len(v)
		case lua.LNumber:
			size += 8
		default:
			// C Lua 5.2's wording (5.3 changed it to "(at index N)").
			L.RaiseError("invalid value (%s) at index %d in table for 'concat'", v.Type().String(), k)
		}
		if k < j {
			size += len(sep)
		}
		if k == j { // avoid overflow when j is the largest int64
			break
		}
	}
	if i == j {
		// A single string item is returned as is, without copying.
		if v, ok := t.RawGetInt(int(i)).(lua.LString); ok {
			L.Push(v)
			return 1
		}
	}
	var b strings.Builder
	b.Grow(size)
	var nb [32]byte
	for k := i; ; k++ {
		switch v := t.RawGetInt(int(k)).(type) {
		case lua.LString:
			b.WriteString(string(v))
		case lua.LNumber:
			b.Write(appendNumber(nb[:0], float64(v)))
		}
		if k >= j {
			break
		}
		b.WriteString(sep)
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// tablePack is 5.2's table.pack(...): the arguments plus n.
func tablePack(L *lua.LState) int {
	n := L.GetTop()
	t := L.CreateTable(n, 1)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, L.Get(i))
	}
	t.RawSetString("n", lua.LNumber(n))
	L.Push(t)
	return 1
}

// maxUnpack bounds the number of results of unpack before anything is
// pushed, as 5.2 does with lua_checkstack; the registry limit still applies.
const maxUnpack = 1 << 24

// tableUnpack is 5.2's table.unpack(t [, i [, j]]) (also the global unpack).
func tableUnpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := optInt(L, 2, 1)
	var e int64
	if L.Get(3) == lua.LNil {
		e = tableLen(L, t)
	} else {
		e = checkInt(L, 3)
	}
	if i > e {
		return 0
	}
	if e-i >= maxUnpack || e-i < 0 {
		L.RaiseError("too many results to unpack")
	}
	n := int(e - i + 1)
	for k := i; k <= e; k++ {
		L.Push(t.RawGetInt(int(k)))
	}
	return n
}
