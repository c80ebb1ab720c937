// Package ltable fills new gopher-lua tables with string keys in one step.
//
// gopher-lua's LTable.RawSetString keeps three structures per table: the
// value map, an ordered key list and a key-to-position map (both for
// next()). Setting fields one by one grows the list and the map several
// times and boxes every key into an interface; for the objects built per
// received message (contents, client, envelope, message) that was the
// largest single cost after the socket system calls. Fill builds the
// three structures once, at their final size, from keys boxed in advance.
//
// It writes gopher-lua's unexported fields, so it relies on the layout of
// lua.LTable (gopher-lua v1.1.2, pinned in go.mod). The layout is checked
// by reflection when the package loads; if it differs, Fill falls back to
// RawSetString, which gives the same table, only slower.
package ltable

import (
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// layout mirrors lua.LTable field by field.
type layout struct {
	Metatable lua.LValue
	array     []lua.LValue
	dict      map[lua.LValue]lua.LValue
	strdict   map[string]lua.LValue
	keys      []lua.LValue
	k2i       map[lua.LValue]int
}

var direct = sameLayout(reflect.TypeOf(lua.LTable{}), reflect.TypeOf(layout{}))

// sameLayout reports whether a and b have the same fields (names, types,
// offsets) and size.
func sameLayout(a, b reflect.Type) bool {
	if a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := 0; i < a.NumField(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
	}
	return true
}

// Direct reports whether Fill writes the table directly (true with the
// gopher-lua version this was written for).
func Direct() bool { return direct }

// Keys boxes field names once, for use with Fill.
func Keys(names ...string) []lua.LValue {
	out := make([]lua.LValue, len(names))
	for i, n := range names {
		out[i] = lua.LString(n)
	}
	return out
}

// Fill sets t[keys[i]] = vals[i] for every non-nil value, as RawSetString
// would in that order. keys must be distinct lua.LString values. A table
// that already has string keys is filled with RawSetString.
func Fill(t *lua.LTable, keys, vals []lua.LValue) {
	p := (*layout)(unsafe.Pointer(t))
	if !direct || p.strdict != nil || p.keys != nil || p.k2i != nil {
		for i, v := range vals {
			if v != nil && v != lua.LNil {
				t.RawSetString(string(keys[i].(lua.LString)), v)
			}
		}
		return
	}
	n := 0
	for _, v := range vals {
		if v != nil && v != lua.LNil {
			n++
		}
	}
	if n == 0 {
		return
	}
	sd := make(map[string]lua.LValue, n)
	order := make([]lua.LValue, 0, n)
	k2i := make(map[lua.LValue]int, n)
	for i, v := range vals {
		if v == nil || v == lua.LNil {
			continue
		}
		k := keys[i]
		sd[string(k.(lua.LString))] = v
		if _, dup := k2i[k]; !dup {
			k2i[k] = len(order)
			order = append(order, k)
		}
	}
	p.strdict, p.keys, p.k2i = sd, order, k2i
}
