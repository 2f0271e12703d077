package location

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// Table is the location table. Create it with New.
type Table struct {
	// onChange, if not nil, is called after a change; see the package documentation.
	onChange func(aor string)

	seed   maphash.Seed
	mask   uint64
	shards []shard
}

type shard struct {
	mu       sync.Mutex
	recs     map[string]*record
	heap     []heapItem // min-heap on a lower bound of record.next (heap.go)
	scratch  []entry    // Register's tentative bindings, reused under mu
	bindings int
	_        [64]byte // keep neighbouring shards' locks off one cache line
}

type record struct {
	aor  string
	bs   []Binding
	next int64 // earliest ExpiresAt of bs, Unix nanoseconds
	hidx int   // index in the shard heap
}

// DefaultShards is the shard count New uses for shards <= 0.
const DefaultShards = 64

// New returns an empty table with shards shards (rounded up to a power of two;
// <= 0 means DefaultShards) that reports each change to onChange (nil: to no one);
// see the package documentation.
func New(shards int, onChange func(aor string)) *Table {
	if shards <= 0 {
		shards = DefaultShards
	}
	n := 1
	for n < shards && n < 1<<16 {
		n <<= 1
	}
	t := &Table{onChange: onChange, seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]shard, n)}
	for i := range t.shards {
		t.shards[i].recs = make(map[string]*record)
	}
	return t
}

func (t *Table) shard(aor string) *shard {
	return &t.shards[maphash.String(t.seed, aor)&t.mask]
}

func (t *Table) notify(aor string) {
	if f := t.onChange; f != nil {
		f(aor)
	}
}

// Lookup returns the AOR's live bindings at now (nil when none).
func (t *Table) Lookup(aor string, now time.Time) []Binding {
	return t.LookupAppend(nil, aor, now)
}

// LookupAppend is Lookup appending to dst.
func (t *Table) LookupAppend(dst []Binding, aor string, now time.Time) []Binding {
	nowN := now.UnixNano()
	s := t.shard(aor)
	s.mu.Lock()
	if rec := s.recs[aor]; rec != nil {
		dst = appendLive(dst, rec.bs, nowN)
	}
	s.mu.Unlock()
	return dst
}

// Snapshot returns a copy of the AOR's stored bindings, for the status writer.
// Bindings past ExpiresAt may appear until ExpireDue drops them.
func (t *Table) Snapshot(aor string) []Binding {
	s := t.shard(aor)
	s.mu.Lock()
	var out []Binding
	if rec := s.recs[aor]; rec != nil {
		out = append(make([]Binding, 0, len(rec.bs)), rec.bs...)
	}
	s.mu.Unlock()
	return out
}

// Range calls fn with every AOR and a copy of its stored bindings, one shard at a
// time, outside the shard lock, until fn returns false. AORs changed while Range
// runs may or may not be seen. Meant for low-frequency work (lease extension,
// metrics), not the hot path.
func (t *Table) Range(fn func(aor string, bindings []Binding) bool) {
	type item struct {
		aor string
		bs  []Binding
	}
	var items []item
	for i := range t.shards {
		s := &t.shards[i]
		items = items[:0]
		s.mu.Lock()
		for aor, rec := range s.recs {
			items = append(items, item{aor, append([]Binding(nil), rec.bs...)})
		}
		s.mu.Unlock()
		for _, it := range items {
			if !fn(it.aor, it.bs) {
				return
			}
		}
	}
}

// Restore merges bindings read back (e.g. from the Extension status at start-up)
// into the AOR. Per binding (by URI, URIEqual, or for an outbound flow by instance
// and reg-id) the newer one is kept: with the same
// Call-ID the higher CSeq (then the later ExpiresAt); with different Call-IDs the
// later RegisteredAt (then the later ExpiresAt). Bindings with an empty URI are
// ignored; bindings already past ExpiresAt are kept and left to ExpireDue, which
// then reports them through onChange so the status drops them. MaxContacts is not
// applied (the next REGISTER does). Restore itself does not call onChange.
func (t *Table) Restore(aor string, bs []Binding) {
	s := t.shard(aor)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recs[aor]
	old := 0
	if rec != nil {
		old = len(rec.bs)
	}
	for _, b := range bs {
		if b.URI == "" {
			continue
		}
		b.ExpiresAt = b.ExpiresAt.Round(0)
		b.RegisteredAt = b.RegisteredAt.Round(0)
		if rec == nil {
			rec = &record{aor: strings.Clone(aor), hidx: -1}
			s.recs[rec.aor] = rec
		}
		j := -1
		for k := range rec.bs {
			if names(&rec.bs[k], b.URI, b.Instance, b.RegID) {
				j = k
				break
			}
		}
		switch {
		case j < 0:
			rec.bs = append(rec.bs, b)
		case newer(b, rec.bs[j]):
			rec.bs[j] = b
		}
	}
	if rec != nil {
		s.bindings += len(rec.bs) - old
		s.update(rec)
	}
}

func newer(a, b Binding) bool {
	if a.CallID == b.CallID {
		return a.CSeq > b.CSeq || a.CSeq == b.CSeq && a.ExpiresAt.After(b.ExpiresAt)
	}
	if !a.RegisteredAt.Equal(b.RegisteredAt) {
		return a.RegisteredAt.After(b.RegisteredAt)
	}
	return a.ExpiresAt.After(b.ExpiresAt)
}

// Remove drops every binding of the AOR (extension deleted or disabled) and
// returns what was dropped (as stored, possibly including expired ones).
func (t *Table) Remove(aor string) []Binding {
	s := t.shard(aor)
	s.mu.Lock()
	rec := s.recs[aor]
	if rec == nil {
		s.mu.Unlock()
		return nil
	}
	bs := rec.bs
	s.removeRecord(rec)
	s.mu.Unlock()
	t.notify(rec.aor)
	return bs
}

// RemoveURI drops the AOR's bindings whose URI matches uri (URIEqual), e.g.
// because another replica took the binding over. It reports whether any was dropped.
func (t *Table) RemoveURI(aor, uri string) bool {
	return t.RemoveIf(aor, func(b *Binding) bool { return URIEqual(b.URI, uri) })
}

// ExpireDue drops every binding with ExpiresAt <= now and returns the AORs that
// lost one (each once), calling onChange for each of them too. Cost: one heap
// peek per shard plus O(log n) per due AOR; no scan of the table.
func (t *Table) ExpireDue(now time.Time) (changed []string) {
	nowN := now.UnixNano()
	for i := range t.shards {
		s := &t.shards[i]
		first := len(changed)
		s.mu.Lock()
		for s.settle(); len(s.heap) > 0 && s.heap[0].key <= nowN; s.settle() {
			rec := s.heap[0].rec
			old := len(rec.bs)
			bs := rec.bs[:0]
			for _, b := range rec.bs {
				if b.ExpiresAt.UnixNano() > nowN {
					bs = append(bs, b)
				}
			}
			clear(rec.bs[len(bs):old])
			rec.bs = bs
			s.bindings -= old - len(bs)
			if len(bs) == 0 {
				s.removeRecord(rec)
			} else {
				s.update(rec)
			}
			changed = append(changed, rec.aor)
		}
		s.mu.Unlock()
		if t.onChange != nil {
			for _, aor := range changed[first:] {
				t.onChange(aor)
			}
		}
	}
	return changed
}

// NextExpiry returns the earliest ExpiresAt in the table, false when it is empty:
// when ExpireDue next has something to do.
func (t *Table) NextExpiry() (time.Time, bool) {
	var best int64
	found := false
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.settle()
		if len(s.heap) > 0 && (!found || s.heap[0].key < best) {
			best, found = s.heap[0].key, true
		}
		s.mu.Unlock()
	}
	if !found {
		return time.Time{}, false
	}
	return time.Unix(0, best), true
}

// Len returns how many AORs and bindings the table holds (stored, including
// bindings past expiry not yet swept).
func (t *Table) Len() (aors, bindings int) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		aors += len(s.recs)
		bindings += s.bindings
		s.mu.Unlock()
	}
	return aors, bindings
}

// RemoveIf drops the AOR's bindings for which drop returns true, e.g. because
// another replica holds a newer registration of them. drop runs under the shard
// lock, so that a REGISTER refreshing a binding meanwhile is judged as it is now;
// it must be quick and must not call the table. RemoveIf reports whether any
// binding was dropped, and then calls onChange.
func (t *Table) RemoveIf(aor string, drop func(b *Binding) bool) bool {
	s := t.shard(aor)
	s.mu.Lock()
	rec := s.recs[aor]
	if rec == nil {
		s.mu.Unlock()
		return false
	}
	old := len(rec.bs)
	bs := rec.bs[:0]
	for i := range rec.bs {
		if !drop(&rec.bs[i]) {
			bs = append(bs, rec.bs[i])
		}
	}
	clear(rec.bs[len(bs):old])
	rec.bs = bs
	if len(bs) == old {
		s.mu.Unlock()
		return false
	}
	s.bindings -= old - len(bs)
	if len(bs) == 0 {
		s.removeRecord(rec)
	} else {
		s.update(rec)
	}
	s.mu.Unlock()
	t.notify(rec.aor)
	return true
}
