package luaarg

import (
	"testing"

	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

type thing struct{ n int }

func TestMetatableCached(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	methods := map[string]lua.LGFunction{"n": func(L *lua.LState) int { return 0 }}
	mt := Metatable(L, "test.thing", methods)
	require.Same(t, mt, Metatable(L, "test.thing", methods))
	idx, ok := mt.RawGetString("__index").(*lua.LTable)
	require.True(t, ok)
	require.IsType(t, &lua.LFunction{}, idx.RawGetString("n"))
}

func TestCheckUserData(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	ud := L.NewUserData()
	ud.Value = &thing{n: 7}
	other := L.NewUserData()
	other.Value = "not a thing"
	L.SetGlobal("check", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(CheckUserData[*thing](L, 1, "test.check", "test thing").n))
		return 1
	}))
	L.SetGlobal("ud", ud)
	L.SetGlobal("other", other)
	cases := []struct {
		code, want string
	}{
		{`assert(check(ud) == 7)`, ""},
		{`check(other)`, "bad argument #1 to 'test.check' (test thing expected, got userdata)"},
		{`check(42)`, "bad argument #1 to 'test.check' (test thing expected, got number)"},
		{`check()`, "bad argument #1 to 'test.check' (test thing expected, got no value)"},
	}
	for _, c := range cases {
		err := L.DoString(c.code)
		if c.want == "" {
			require.NoError(t, err, c.code)
			continue
		}
		require.Error(t, err, c.code)
		require.Contains(t, err.Error(), c.want, c.code)
	}
}
