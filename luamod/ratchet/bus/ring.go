package bus

// ring is a FIFO queue on a circular buffer, so a long-lived bus does not
// keep reslicing (and leaking the front of) an ever-growing slice.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

// shrinkCap is the capacity above which an emptied ring drops its buffer:
// a burst of queued requests must not pin memory for the bus's lifetime.
const shrinkCap = 64

func (r *ring[T]) len() int { return r.n }

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		size := 2 * len(r.buf)
		if size == 0 {
			size = 4
		}
		nb := make([]T, size)
		// Unroll the wrapped contents to the front of the new buffer.
		k := copy(nb, r.buf[r.head:])
		copy(nb[k:], r.buf[:r.head])
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

// pop removes the oldest element; the caller checks len() first.
func (r *ring[T]) pop() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero // let the collector have it
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > shrinkCap {
			r.buf = nil
		}
	}
	return v
}
