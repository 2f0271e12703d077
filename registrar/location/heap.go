package location

// The expiry heap is lazy: an item's key is a lower bound of its record's earliest
// expiry, not always the value. A refresh, the common REGISTER, only moves an AOR's
// expiry later, so it leaves the heap alone; the stale key is put right when it comes
// to the top (settle), once however many refreshes came meanwhile. Sifting on every
// refresh walked log n records of cold memory, a good part of a refresh's cost in a
// large table. A record whose expiry moves earlier sifts up at once, so the top is
// never later than the earliest expiry.

// heapItem is a record and the key it sits in the heap by, kept beside each other so
// that sifting compares keys without reading the records.
type heapItem struct {
	key int64 // at or before rec.next
	rec *record
}

// removeRecord deletes rec from the shard's map and heap, subtracting its bindings.
func (s *shard) removeRecord(rec *record) {
	s.bindings -= len(rec.bs)
	delete(s.recs, rec.aor)
	if rec.hidx >= 0 {
		s.heapRemove(rec.hidx)
	}
}

// update recomputes rec.next and places rec in the heap (or takes it out when empty).
func (s *shard) update(rec *record) {
	if len(rec.bs) == 0 {
		if rec.hidx >= 0 {
			s.heapRemove(rec.hidx)
		}
		return
	}
	next := rec.bs[0].ExpiresAt.UnixNano()
	for i := 1; i < len(rec.bs); i++ {
		if n := rec.bs[i].ExpiresAt.UnixNano(); n < next {
			next = n
		}
	}
	rec.next = next
	if rec.hidx < 0 {
		rec.hidx = len(s.heap)
		s.heap = append(s.heap, heapItem{key: next, rec: rec})
		s.up(rec.hidx)
		return
	}
	if it := &s.heap[rec.hidx]; next < it.key {
		it.key = next
		s.up(rec.hidx)
	}
}

// settle puts right the keys at the top of the heap until the top's is its record's
// earliest expiry: after it, s.heap[0].key is the shard's earliest expiry.
func (s *shard) settle() {
	for len(s.heap) > 0 {
		top := &s.heap[0]
		if top.key >= top.rec.next {
			return
		}
		top.key = top.rec.next
		s.down(0)
	}
}

func (s *shard) heapRemove(i int) {
	h := s.heap
	last := len(h) - 1
	rec := h[i].rec
	if i != last {
		h[i] = h[last]
		h[i].rec.hidx = i
	}
	h[last] = heapItem{}
	s.heap = h[:last]
	rec.hidx = -1
	if i != last {
		if !s.down(i) {
			s.up(i)
		}
	}
}

func (s *shard) up(i int) {
	h := s.heap
	for i > 0 {
		p := (i - 1) / 2
		if h[p].key <= h[i].key {
			break
		}
		h[p], h[i] = h[i], h[p]
		h[p].rec.hidx, h[i].rec.hidx = p, i
		i = p
	}
}

// down sifts element i down; it reports whether it moved.
func (s *shard) down(i0 int) bool {
	h := s.heap
	i := i0
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].key < h[l].key {
			m = r
		}
		if h[i].key <= h[m].key {
			break
		}
		h[i], h[m] = h[m], h[i]
		h[i].rec.hidx, h[m].rec.hidx = i, m
		i = m
	}
	return i > i0
}
