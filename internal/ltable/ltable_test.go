package ltable

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func TestLayoutMatches(t *testing.T) {
	require.True(t, Direct(), "lua.LTable layout changed: Fill falls back to RawSetString")
}

// dump renders a table as Lua's next() walks it.
func dump(L *lua.LState, t *lua.LTable) string {
	out := ""
	k, v := t.Next(lua.LNil)
	for k != lua.LNil {
		out += fmt.Sprintf("%v=%v;", k, v)
		k, v = t.Next(k)
	}
	return out
}

func TestFillMatchesRawSetString(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	cases := []struct {
		name string
		keys []string
		vals []lua.LValue
	}{
		{"empty", nil, nil},
		{"all nil", []string{"a", "b"}, []lua.LValue{lua.LNil, nil}},
		{"fields", []string{"protocol", "ehlo", "ip"}, []lua.LValue{lua.LString("ESMTP"), lua.LNil, lua.LString("::1")}},
		{"mixed values", []string{"n", "t", "b", "f"}, []lua.LValue{lua.LNumber(3), L.NewTable(), lua.LTrue, lua.LFalse}},
		{"duplicate key", []string{"x", "y", "x"}, []lua.LValue{lua.LNumber(1), lua.LNumber(2), lua.LNumber(3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := L.CreateTable(0, len(c.keys))
			for i, k := range c.keys {
				if v := c.vals[i]; v != nil {
					want.RawSetString(k, v)
				}
			}
			got := L.CreateTable(0, 0)
			Fill(got, Keys(c.keys...), c.vals)
			require.Equal(t, dump(L, want), dump(L, got))
			for _, k := range c.keys {
				require.Equal(t, want.RawGetString(k), got.RawGetString(k))
			}
			// later writes behave the same on both
			for _, tb := range []*lua.LTable{want, got} {
				tb.RawSetString("later", lua.LString("x"))
				if len(c.keys) > 0 {
					tb.RawSetString(c.keys[0], lua.LNil)
				}
				tb.RawSetInt(1, lua.LNumber(7))
			}
			require.Equal(t, dump(L, want), dump(L, got))
		})
	}
}

func TestFillFallsBackOnUsedTable(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	tb := L.NewTable()
	tb.RawSetString("old", lua.LTrue)
	Fill(tb, Keys("new", "old"), []lua.LValue{lua.LNumber(1), lua.LFalse})
	require.Equal(t, "old=false;new=1;", dump(L, tb))
}

func TestFilledTableFromLua(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	tb := L.CreateTable(0, 0)
	Fill(tb, Keys("a", "b", "c"), []lua.LValue{lua.LNumber(1), lua.LNumber(2), lua.LNumber(3)})
	L.SetGlobal("t", tb)
	require.NoError(t, L.DoString(`
		local seen, n = {}, 0
		for k, v in pairs(t) do seen[k] = v; n = n + 1 end
		assert(n == 3 and seen.a == 1 and seen.b == 2 and seen.c == 3)
		t.b = nil; t.d = 4
		n = 0
		for k in pairs(t) do n = n + 1 end
		assert(n == 3 and t.d == 4 and t.b == nil)
	`))
}

var benchKeys = Keys("orig_data", "size", "headers_end", "contents_start", "_body", "header_stack", "headers")

func BenchmarkFill(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	vals := []lua.LValue{lua.LTrue, lua.LTrue, lua.LTrue, lua.LTrue, lua.LTrue, lua.LTrue, lua.LTrue}
	b.Run("RawSetString", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			t := L.CreateTable(0, 7)
			for j, k := range benchKeys {
				t.RawSetString(string(k.(lua.LString)), vals[j])
			}
		}
	})
	b.Run("Fill", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Fill(L.CreateTable(0, 0), benchKeys, vals)
		}
	})
}
