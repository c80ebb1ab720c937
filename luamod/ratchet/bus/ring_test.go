package bus

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRing checks FIFO order across growth and wrap-around, and that an
// emptied large ring gives its buffer back.
func TestRing(t *testing.T) {
	cases := []struct {
		name string
		ops  []int // >0: push that many, <0: pop that many
	}{
		{"empty", nil},
		{"one", []int{1, -1}},
		{"grow", []int{10, -10}},
		{"wrap then grow", []int{3, -2, 3, -1, 8, -11}},
		{"interleaved", []int{2, -1, 2, -1, 2, -1, 2, -1, 5, -9}},
		{"burst shrinks", []int{200, -200, 1, -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r ring[int]
			next, want := 0, 0
			for _, op := range c.ops {
				for ; op > 0; op-- {
					r.push(next)
					next++
				}
				for ; op < 0; op++ {
					require.Positive(t, r.len())
					require.Equal(t, want, r.pop())
					want++
				}
				require.Equal(t, next-want, r.len())
			}
			require.Zero(t, r.len())
			require.LessOrEqual(t, len(r.buf), shrinkCap, "emptied ring keeps a big buffer")
		})
	}
}

// TestRingClearsPopped makes sure popped slots do not keep values alive.
func TestRingClearsPopped(t *testing.T) {
	var r ring[*int]
	for i := 0; i < 3; i++ {
		r.push(new(int))
	}
	r.pop()
	r.pop()
	nils := 0
	for _, p := range r.buf {
		if p == nil {
			nils++
		}
	}
	require.Equal(t, len(r.buf)-1, nils)
}
