package bus_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"

	slimtalua "github.com/slimta-lua/slimta-lua"
	lua "github.com/yuin/gopher-lua"
)

// refParse is the reference frame parser: it returns the parts of the
// complete message at the start of in, and how many bytes it used.
func refParse(in []byte) (parts [][]byte, used int, done bool) {
	if len(in) < 2 {
		return nil, 0, false
	}
	n := int(binary.BigEndian.Uint16(in))
	pos := 2
	for i := 0; i < n; i++ {
		if len(in)-pos < 4 {
			return nil, 0, false
		}
		l := int(binary.BigEndian.Uint32(in[pos:]))
		pos += 4
		if len(in)-pos < l {
			return nil, 0, false
		}
		parts = append(parts, in[pos:pos+l])
		pos += l
	}
	return parts, pos, true
}

var (
	fuzzOnce sync.Once
	fuzzRT   *slimtalua.Runtime
	fuzzFn   lua.LValue
	fuzzMu   sync.Mutex
)

// luaFeed runs ratchet.bus.frame over chunks; it returns the parts, the
// bytes used and whether the message was complete.
const feedSrc = `
local frame = require "ratchet.bus.frame"
return function (chunks)
    local p = frame.new(1e12)
    local used = 0
    for _, c in ipairs(chunks) do
        local ok, err = p:feed(c)
        assert(ok ~= nil, err)
        used = used + p.used
        if ok then
            local main, att = p:result()
            local parts = {main}
            for i, a in ipairs(att) do parts[i + 1] = a end
            if p.nparts == 0 then parts = {} end
            return parts, used, true
        end
    end
    return {}, used, false
end
`

func luaFeed(t *testing.T, chunks [][]byte) ([]string, int, bool) {
	fuzzOnce.Do(func() {
		fuzzRT = slimtalua.New()
		L := fuzzRT.State()
		fn, err := L.LoadString(feedSrc)
		if err != nil {
			panic(err)
		}
		L.Push(fn)
		L.Call(0, 1)
		fuzzFn = L.Get(-1)
		L.Pop(1)
	})
	fuzzMu.Lock()
	defer fuzzMu.Unlock()
	L := fuzzRT.State()
	tbl := L.NewTable()
	for _, c := range chunks {
		tbl.Append(lua.LString(c))
	}
	var parts []string
	var used int
	var done bool
	_, err := fuzzRT.Call(context.Background(), L.NewFunction(func(L *lua.LState) int {
		L.Push(fuzzFn)
		L.Push(tbl)
		L.Call(1, 3)
		pt := L.CheckTable(-3)
		pt.ForEach(func(_, v lua.LValue) { parts = append(parts, string(v.(lua.LString))) })
		used = L.CheckInt(-2)
		done = L.ToBool(-1)
		return 0
	}))
	if err != nil {
		t.Fatal(err)
	}
	return parts, used, done
}

func FuzzBusFrame(f *testing.F) {
	f.Add([]byte("\x00\x02\x00\x00\x00\x03abc\x00\x00\x00\x01Z"), uint16(3), uint16(7))
	f.Add([]byte("\x00\x00"), uint16(1), uint16(1))
	f.Add([]byte("\x00\x01\x00\x00\x00\x00rest"), uint16(0), uint16(5))
	f.Add([]byte("\x00\x03\x00\x00\x00\x01a\x00\x00"), uint16(2), uint16(9))
	f.Fuzz(func(t *testing.T, in []byte, c1, c2 uint16) {
		a, b := int(c1)%(len(in)+1), int(c2)%(len(in)+1)
		if a > b {
			a, b = b, a
		}
		chunks := [][]byte{in[:a], in[a:b], in[b:]}
		parts, used, done := luaFeed(t, chunks)
		rparts, rused, rdone := refParse(in)
		if done != rdone {
			t.Fatalf("done %v, reference %v", done, rdone)
		}
		if !done {
			return
		}
		if used != rused {
			t.Fatalf("used %d, reference %d", used, rused)
		}
		if len(parts) != len(rparts) {
			t.Fatalf("%d parts, reference %d", len(parts), len(rparts))
		}
		for i := range parts {
			if parts[i] != string(rparts[i]) {
				t.Fatalf("part %d: %q, reference %q", i, parts[i], rparts[i])
			}
		}
	})
}
