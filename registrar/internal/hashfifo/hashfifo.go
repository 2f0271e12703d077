// Package hashfifo holds the insertion order of a bounded table's entries, by the
// uint64 hashes that key them (the nonce counts and the throttles are maps of hashes).
package hashfifo

// Queue is a FIFO of the hashes that key a bounded table, in insertion order, so the
// oldest entry is found in O(1). A ring buffer underneath, it grows on demand up to
// the table's capacity rather than reserving it all up front.
type Queue struct {
	buf  []uint64
	head int // index of the oldest element
	n    int
}

func (r *Queue) Len() int { return r.n }

func (r *Queue) Front() uint64 { return r.buf[r.head] }

func (r *Queue) Pop() uint64 {
	x := r.buf[r.head]
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
	return x
}

// Push appends x; limit is the most elements the queue will ever hold, and the caller
// makes room before pushing past it.
func (r *Queue) Push(x uint64, limit int) {
	if r.n == len(r.buf) {
		r.grow(limit)
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.buf[i] = x
	r.n++
}

func (r *Queue) grow(limit int) {
	size := min(max(2*len(r.buf), 16), limit)
	if size <= r.n {
		size = r.n + 1 // the caller broke its promise; growing beats corrupting
	}
	buf := make([]uint64, size)
	k := copy(buf, r.buf[r.head:])
	copy(buf[k:], r.buf[:r.head])
	r.buf, r.head = buf, 0
}
