package location

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
		s.heap = append(s.heap, rec)
		s.up(rec.hidx)
		return
	}
	if !s.down(rec.hidx) {
		s.up(rec.hidx)
	}
}

func (s *shard) heapRemove(i int) {
	h := s.heap
	last := len(h) - 1
	rec := h[i]
	if i != last {
		h[i] = h[last]
		h[i].hidx = i
	}
	h[last] = nil
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
		if h[p].next <= h[i].next {
			break
		}
		h[p], h[i] = h[i], h[p]
		h[p].hidx, h[i].hidx = p, i
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
		if r := l + 1; r < n && h[r].next < h[l].next {
			m = r
		}
		if h[i].next <= h[m].next {
			break
		}
		h[i], h[m] = h[m], h[i]
		h[i].hidx, h[m].hidx = i, m
		i = m
	}
	return i > i0
}
