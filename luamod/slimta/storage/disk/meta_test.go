package disk

import (
	"math"
	"testing"

	"github.com/slimta-lua/slimta-lua/luamod/slimta/storage/internal/lstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetaRoundTrip(t *testing.T) {
	cases := []lstore.Meta{
		{},
		{"sender": ""},
		{"recipients": "\x00a@b\x00c@d", "timestamp": 1357000000.0, "attempts": 0.0},
		{"dest_port": 25.0, "dest_host": "mx.example", "spammy": false, "ok": true},
		{"neg": -1.5, "inf": math.Inf(1), "big": 1e300, "bin": "\xff\x00\r\n"},
	}
	for _, m := range cases {
		b, err := EncodeMeta(m)
		require.NoError(t, err)
		got, err := DecodeMeta(b)
		require.NoError(t, err)
		assert.Equal(t, m, got)
		again, err := EncodeMeta(got)
		require.NoError(t, err)
		assert.Equal(t, b, again, "deterministic")
	}
}

func TestMetaEncodeRejects(t *testing.T) {
	_, err := EncodeMeta(lstore.Meta{"t": []int{1}})
	assert.Error(t, err)
}

func TestMetaDecodeRejects(t *testing.T) {
	good, err := EncodeMeta(lstore.Meta{"a": "b", "n": 1.0})
	require.NoError(t, err)
	cases := map[string][]byte{
		"empty":         {},
		"version":       append([]byte{2}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte{}, good...), 0),
		"bad type":      {1, 1, 1, 'a', 'x'},
		"huge count":    {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge length":   {1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'},
		"duplicate key": {1, 2, 1, 'a', 't', 1, 'a', 'f'},
		"short number":  {1, 1, 1, 'a', 'n', 0, 0},
	}
	for name, b := range cases {
		_, err := DecodeMeta(b)
		assert.Error(t, err, name)
	}
}

// FuzzMetaDecode: any bytes either fail to decode or decode to a table
// that re-encodes to a record decoding to the same table.
func FuzzMetaDecode(f *testing.F) {
	for _, m := range []lstore.Meta{
		{},
		{"recipients": "\x00a@b", "timestamp": 1.0, "spammy": true},
		{"sender": "", "attempts": 3.0, "x": false},
	} {
		b, _ := EncodeMeta(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		out, err := EncodeMeta(m)
		if err != nil {
			t.Fatalf("decoded meta does not encode: %v", err)
		}
		m2, err := DecodeMeta(out)
		if err != nil {
			t.Fatalf("re-encoded meta does not decode: %v", err)
		}
		if len(m) != len(m2) {
			t.Fatalf("length changed: %d -> %d", len(m), len(m2))
		}
		for k, v := range m {
			w := m2[k]
			if f1, ok := v.(float64); ok {
				if f2, ok := w.(float64); !ok || math.Float64bits(f1) != math.Float64bits(f2) {
					t.Fatalf("%q: %v -> %v", k, v, w)
				}
				continue
			}
			if v != w {
				t.Fatalf("%q: %v -> %v", k, v, w)
			}
		}
	})
}
