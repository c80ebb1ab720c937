package lstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func TestMetaFromLua(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	cases := []struct {
		name string
		src  string
		want Meta
		err  bool
	}{
		{"scalars", `return {s = "a\0b", n = 1.5, i = 25, t = true, f = false}`,
			Meta{"s": "a\x00b", "n": 1.5, "i": 25.0, "t": true, "f": false}, false},
		{"empty", `return {}`, Meta{}, false},
		{"array key", `return {"x"}`, nil, true},
		{"table value", `return {k = {}}`, nil, true},
		{"function value", `return {k = print}`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, L.DoString(c.src))
			tbl := L.Get(-1).(*lua.LTable)
			L.Pop(1)
			got, err := MetaFromLua(tbl)
			if c.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			back, err := MetaFromLua(MetaToLua(L, got))
			require.NoError(t, err)
			assert.Equal(t, got, back)
		})
	}
}

func TestString(t *testing.T) {
	cases := map[string]Value{
		"25": 25.0, "1357000000": 1357000000.0, "1.5": 1.5, "true": true, "false": false, "x": "x",
		"1e+15": 1e15, "": nil,
	}
	for want, v := range cases {
		assert.Equal(t, want, String(v), "%v", v)
	}
}
