// Package location is the registrar replica's in-memory location table (usrloc):
// the bindings of every address of record (AOR) this replica holds, and the
// RFC 3261 §10.3 rules that a REGISTER applies to them. It is pure logic: no
// network, no Kubernetes, no clock (every call takes "now" explicitly).
//
// # Concurrency and cost
//
// The table is split into shards (64 by default) by a seeded hash of the AOR;
// each shard has its own mutex, map and expiry heap, so REGISTERs for different
// AORs rarely contend. A refresh of an existing binding allocates nothing inside
// the table (RegisterAppend with a reused buffer allocates nothing at all);
// strings taken from a request are copied only when they differ from what is
// stored, so the table never pins a request's buffer.
//
// # Expiry
//
// Every shard keeps a min-heap of its AORs keyed by the AOR's earliest binding
// expiry. ExpireDue pops only the AORs that are due (O(k log n) for k due AORs),
// NextExpiry peeks at one heap top per shard. A binding is live while
// now < ExpiresAt. Register, Lookup and the Register answer already ignore bindings
// past their expiry, so ExpireDue may run late without anyone seeing a dead binding;
// Snapshot, Remove and Range show the stored state, which may include bindings
// past their expiry until ExpireDue (or a Register on the AOR) drops them.
//
// # Change notification
//
// Table.OnChange, when set (before the table is used), is called with the AOR
// after any call that changed that AOR's bindings in a way a user relies on:
// a binding added or removed (by Register, by ExpireDue, by Remove, by
// RemoveURI, or by Register dropping expired bindings or the oldest binding to
// make room), or a binding's URI, Source, Transport, UserAgent or granted Expires
// interval changed. A refresh (only ExpiresAt, CSeq or the Call-ID moved) does not
// call it: a device that registers its contact again under a new Call-ID (many do,
// and so do load generators) shows nothing new in status, and writing it would
// cost an API write per REGISTER. (A new Call-ID still resets RegisteredAt, which
// orders ReplaceOldest; status keeps the earlier time until its next write, when
// the contact was first registered.) The status writer reads
// ExpiresAt from Snapshot or Range to decide when its published lease needs
// extending. Restore does not call it either: its input came from the status.
//
// OnChange runs synchronously on the goroutine that made the change, after the
// shard lock is released (so it may call back into the table), once per call and
// AOR. Calls for the same AOR from different goroutines may arrive in any order:
// treat it as a "dirty" mark and read Snapshot afterwards. It must be cheap and
// must not block (e.g. add to a set and signal a channel with a non-blocking send).
package location

import (
	"errors"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Policy is the registration policy applied to one REGISTER.
type Policy struct {
	MinExpires, DefaultExpires, MaxExpires int32 // seconds
	MaxContacts                            int   // >= 1
	OnMaxContacts                          sipv1.MaxContactsAction
}

// PolicyFrom converts the Domain's RegistrationPolicy, filling in the CRD defaults
// (60/3600/7200 s, 3 contacts, ReplaceOldest) for zero fields.
func PolicyFrom(rp sipv1.RegistrationPolicy) Policy {
	p := Policy{
		MinExpires:     rp.MinExpires,
		DefaultExpires: rp.DefaultExpires,
		MaxExpires:     rp.MaxExpires,
		MaxContacts:    int(rp.MaxContacts),
		OnMaxContacts:  rp.OnMaxContacts,
	}
	if p.MinExpires <= 0 {
		p.MinExpires = 60
	}
	if p.DefaultExpires <= 0 {
		p.DefaultExpires = 3600
	}
	if p.MaxExpires <= 0 {
		p.MaxExpires = 7200
	}
	if p.MaxContacts <= 0 {
		p.MaxContacts = 3
	}
	if p.OnMaxContacts == "" {
		p.OnMaxContacts = sipv1.ReplaceOldest
	}
	return p
}

// ContactUpdate is one Contact header value of a REGISTER, already parsed by the caller.
type ContactUpdate struct {
	URI     string // the Contact URI as the device wrote it (no display name, no header params)
	Expires int64  // the Contact's expires parameter, -1 (any negative) when absent
}

// Request is a REGISTER reduced to what §10.3 needs.
type Request struct {
	AOR         string // "1001@acme.registrar.voipbin.net", used as given: the caller canonicalises it
	CallID      string
	CSeq        uint32
	Expires     int64           // the Expires header, -1 (any negative) when absent
	Wildcard    bool            // Contact: *
	Contacts    []ContactUpdate // empty with !Wildcard = a query (fetch bindings)
	Source      string          // host:port the request came from (received/rport)
	Transport   string          // "UDP", "TCP", ...
	UserAgent   string
	MaxContacts int       // per-extension override, 0 = policy's
	Now         time.Time // zero = time.Now(); the monotonic reading is dropped
}

// Binding is one contact of an AOR.
type Binding struct {
	URI, Source, Transport, UserAgent, CallID string
	CSeq                                      uint32
	Expires                                   int32     // granted interval, seconds
	ExpiresAt                                 time.Time // real expiry in this replica
	RegisteredAt                              time.Time // first REGISTER of this URI with this Call-ID
}

// Remaining is the binding's remaining lifetime at now in whole seconds, rounded
// up, never negative: the expires parameter of the 200 OK's Contact.
func (b Binding) Remaining(now time.Time) int32 {
	d := b.ExpiresAt.Sub(now)
	if d <= 0 {
		return 0
	}
	if d >= math.MaxInt32*time.Second {
		return math.MaxInt32
	}
	return int32((d + time.Second - 1) / time.Second)
}

// Live reports whether the binding is still registered at now.
func (b Binding) Live(now time.Time) bool { return b.ExpiresAt.After(now) }

// Differs reports whether going from b to o is a change OnChange reports: a
// different URI (as written), Source, Transport, UserAgent or granted Expires.
// CSeq, Call-ID and ExpiresAt alone are a refresh.
func (b Binding) Differs(o Binding) bool {
	return b.URI != o.URI || b.Source != o.Source || b.Transport != o.Transport ||
		b.UserAgent != o.UserAgent || b.Expires != o.Expires
}

// ContactValue renders the binding for a 200 OK Contact header value at now:
// "<uri>;expires=N".
func (b Binding) ContactValue(now time.Time) string {
	var buf [16]byte
	return "<" + b.URI + ">;expires=" + string(strconv.AppendInt(buf[:0], int64(b.Remaining(now)), 10))
}

// IntervalTooBriefError is the 423 Interval Too Brief answer; MinExpires goes in
// the Min-Expires header.
type IntervalTooBriefError struct {
	MinExpires int32
}

func (e *IntervalTooBriefError) Error() string {
	return "location: interval too brief, min-expires " + strconv.Itoa(int(e.MinExpires))
}

var (
	// ErrBadWildcard: Contact: * with other contacts or without "Expires: 0" (400).
	ErrBadWildcard = errors.New("location: Contact * requires exactly one Contact and Expires: 0")
	// ErrOutOfOrder: same Call-ID as a stored binding with a CSeq not higher (500).
	ErrOutOfOrder = errors.New("location: REGISTER out of order (same Call-ID, CSeq not higher)")
	// ErrTooManyContacts: the REGISTER would exceed MaxContacts under OnMaxContacts=Reject (403).
	ErrTooManyContacts = errors.New("location: too many contacts")
)

// Table is the location table. Create it with New.
type Table struct {
	// OnChange, when set before the table is used, is called after a change; see
	// the package documentation.
	OnChange func(aor string)

	seed   maphash.Seed
	mask   uint64
	shards []shard
}

type shard struct {
	mu       sync.Mutex
	recs     map[string]*record
	heap     []*record // min-heap on record.next
	scratch  []entry   // Register's tentative bindings, reused under mu
	bindings int
	_        [64]byte // keep neighbouring shards' locks off one cache line
}

type record struct {
	aor  string
	bs   []Binding
	next int64 // earliest ExpiresAt of bs, Unix nanoseconds
	hidx int   // index in the shard heap
}

// entry is a tentative binding while a REGISTER is applied.
type entry struct {
	Binding
	orig    int // index in record.bs, -1 when added by this request
	pos     int // index of the last Contact of the request that touched it, -1 when untouched
	deleted bool
}

// DefaultShards is the shard count New uses for shards <= 0.
const DefaultShards = 64

// New returns an empty table with shards shards (rounded up to a power of two;
// <= 0 means DefaultShards).
func New(shards int) *Table {
	if shards <= 0 {
		shards = DefaultShards
	}
	n := 1
	for n < shards && n < 1<<16 {
		n <<= 1
	}
	t := &Table{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]shard, n)}
	for i := range t.shards {
		t.shards[i].recs = make(map[string]*record)
	}
	return t
}

func (t *Table) shard(aor string) *shard {
	return &t.shards[maphash.String(t.seed, aor)&t.mask]
}

// grant computes the interval §10.3 step 7 grants one contact: its expires
// parameter, else the Expires header, else DefaultExpires; above MaxExpires it is
// lowered to MaxExpires; 0 stays 0 (remove); above 0 and below MinExpires is 423.
// DefaultExpires is not a requested interval, so it is never refused (only lowered).
func grant(param, header int64, p *Policy) (int32, error) {
	e := param
	if e < 0 {
		e = header
	}
	if e < 0 {
		e = int64(p.DefaultExpires)
		if e <= 0 {
			e = 3600
		}
	} else if e == 0 {
		return 0, nil
	} else if e < int64(p.MinExpires) {
		return 0, &IntervalTooBriefError{MinExpires: p.MinExpires}
	}
	if p.MaxExpires > 0 && e > int64(p.MaxExpires) {
		e = int64(p.MaxExpires)
	}
	if e > math.MaxInt32 {
		e = math.MaxInt32
	}
	return int32(e), nil
}

// Register applies one REGISTER atomically and returns every current binding of
// the AOR (the 200 OK's Contacts). See RegisterAppend.
func (t *Table) Register(req Request, p Policy) ([]Binding, error) {
	return t.RegisterAppend(nil, req, p)
}

// RegisterAppend is Register appending the AOR's bindings to dst, so that a
// caller reusing dst allocates nothing on a refresh.
//
// Order of checks: Contact * shape (400), each contact's interval (423), then,
// under the shard lock, Call-ID/CSeq ordering (500) and MaxContacts (403). Any
// error leaves the table exactly as it was (§10.3 step 8).
//
// Reading of RFC 3261 §10.3 steps 6 and 7:
//
//   - Contact: * (step 6) must be the only Contact and come with "Expires: 0"
//     (an absent Expires header is not 0): else ErrBadWildcard. For each live
//     binding: a different Call-ID removes it; the same Call-ID removes it only
//     when the request's CSeq is higher; "otherwise, the update MUST be aborted
//     and the request fails" — so one binding with the same Call-ID and a CSeq not
//     higher fails the whole request with ErrOutOfOrder and removes nothing (it is
//     not skipped silently).
//   - Each contact (step 7), in the order written: the first live binding whose
//     URI matches (URIEqual) is the binding. None: added (unless the interval is
//     0, which then does nothing). A different Call-ID: replaced (new
//     registration, RegisteredAt = now) or removed when the interval is 0. The
//     same Call-ID: updated or removed only when CSeq is higher, else the whole
//     request fails with ErrOutOfOrder. An equal CSeq is refused too (a
//     retransmission is answered by the transaction layer, not here).
//   - Two contacts of one request naming the same binding: the later one wins
//     (the RFC would fail the second, whose Call-ID and CSeq equal the tentative
//     binding's; we accept it as one device listing itself twice).
//   - A refresh keeps RegisteredAt; the stored URI becomes the string just written.
//
// MaxContacts (req.MaxContacts when > 0, else p.MaxContacts, at least 1):
//   - ReplaceOldest (also for an empty or unknown action): while the AOR has more
//     than MaxContacts bindings, drop the one with the oldest RegisteredAt among
//     those this request did not add or refresh; when only such bindings remain
//     (the request alone lists more than MaxContacts), keep the last MaxContacts
//     contacts in the request's order and drop the earlier ones.
//   - Reject: ErrTooManyContacts when the result exceeds MaxContacts and the
//     request adds a binding; a request that adds nothing (refresh, removal) is
//     accepted even if the AOR is already over a since-lowered limit.
//
//nolint:gocyclo // §10.3 steps 5 to 8 read best as one function, in the RFC's order.
func (t *Table) RegisterAppend(dst []Binding, req Request, p Policy) ([]Binding, error) {
	if req.Wildcard {
		if len(req.Contacts) > 0 || req.Expires != 0 {
			return dst, ErrBadWildcard
		}
	} else {
		for i := range req.Contacts {
			if _, err := grant(req.Contacts[i].Expires, req.Expires, &p); err != nil {
				return dst, err
			}
		}
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.Round(0) // wall clock only: heap order and restored times agree
	nowN := now.UnixNano()
	maxContacts := req.MaxContacts
	if maxContacts <= 0 {
		maxContacts = p.MaxContacts
	}
	if maxContacts < 1 {
		maxContacts = 1
	}

	s := t.shard(req.AOR)
	s.mu.Lock()
	rec := s.recs[req.AOR]

	if !req.Wildcard && len(req.Contacts) == 0 { // query
		if rec != nil {
			dst = appendLive(dst, rec.bs, nowN)
		}
		s.mu.Unlock()
		return dst, nil
	}

	if req.Wildcard {
		if rec == nil {
			s.mu.Unlock()
			return dst, nil
		}
		for i := range rec.bs {
			b := &rec.bs[i]
			if b.ExpiresAt.UnixNano() > nowN && b.CallID == req.CallID && req.CSeq <= b.CSeq {
				s.mu.Unlock()
				return dst, ErrOutOfOrder
			}
		}
		aor := rec.aor
		s.removeRecord(rec)
		s.mu.Unlock()
		t.notify(aor)
		return dst, nil
	}

	// Tentative bindings: the live ones, then the request applied in turn.
	sc := s.scratch[:0]
	purged := false
	if rec != nil {
		for i := range rec.bs {
			if rec.bs[i].ExpiresAt.UnixNano() > nowN {
				sc = append(sc, entry{Binding: rec.bs[i], orig: i, pos: -1})
			} else {
				purged = true
			}
		}
	}
	origLive := len(sc)
	var err error
	for i := range req.Contacts {
		c := &req.Contacts[i]
		exp, _ := grant(c.Expires, req.Expires, &p) // checked above
		j := -1
		for k := range sc {
			if URIEqual(sc[k].URI, c.URI) {
				j = k
				break
			}
		}
		if j < 0 {
			if exp == 0 {
				continue // removing what is not there
			}
			// One allocation for the four strings (which then share it), always a
			// copy (a + with one non-empty operand would return it uncopied).
			var sb strings.Builder
			sb.Grow(len(c.URI) + len(req.Source) + len(req.UserAgent) + len(req.CallID))
			sb.WriteString(c.URI)
			sb.WriteString(req.Source)
			sb.WriteString(req.UserAgent)
			sb.WriteString(req.CallID)
			all := sb.String()
			n1 := len(c.URI)
			n2 := n1 + len(req.Source)
			n3 := n2 + len(req.UserAgent)
			sc = append(sc, entry{orig: -1, pos: i, Binding: Binding{
				URI:          all[:n1],
				Source:       all[n1:n2],
				Transport:    internTransport(req.Transport),
				UserAgent:    all[n2:n3],
				CallID:       all[n3:],
				CSeq:         req.CSeq,
				Expires:      exp,
				ExpiresAt:    now.Add(time.Duration(exp) * time.Second),
				RegisteredAt: now,
			}})
			continue
		}
		e := &sc[j]
		if e.pos < 0 && e.CallID == req.CallID && req.CSeq <= e.CSeq {
			err = ErrOutOfOrder
			break
		}
		e.pos = i
		if exp == 0 {
			e.deleted = true
			continue
		}
		if e.deleted || e.CallID != req.CallID {
			e.RegisteredAt = now
		}
		e.deleted = false
		setString(&e.URI, c.URI)
		setString(&e.Source, req.Source)
		if e.Transport != req.Transport {
			e.Transport = internTransport(req.Transport)
		}
		setString(&e.UserAgent, req.UserAgent)
		setString(&e.CallID, req.CallID)
		e.CSeq = req.CSeq
		e.Expires = exp
		e.ExpiresAt = now.Add(time.Duration(exp) * time.Second)
	}

	live, added := 0, false
	if err == nil {
		for k := range sc {
			if !sc[k].deleted {
				live++
				added = added || sc[k].orig < 0
			}
		}
		if live > maxContacts {
			if p.OnMaxContacts == sipv1.Reject {
				if added {
					err = ErrTooManyContacts
				}
			} else {
				for ; live > maxContacts; live-- {
					dropOne(sc)
				}
			}
		}
	}
	if err != nil {
		clear(sc)
		s.scratch = sc[:0]
		s.mu.Unlock()
		return dst, err
	}

	changed := purged || live != origLive
	for k := 0; k < len(sc) && !changed; k++ {
		e := &sc[k]
		changed = !e.deleted && (e.orig < 0 || rec.bs[e.orig].Differs(e.Binding))
	}

	// Commit.
	if rec == nil {
		if live == 0 {
			clear(sc)
			s.scratch = sc[:0]
			s.mu.Unlock()
			return dst, nil
		}
		rec = &record{aor: strings.Clone(req.AOR), hidx: -1, bs: make([]Binding, 0, maxContacts)}
		s.recs[rec.aor] = rec
	}
	old := len(rec.bs)
	bs := rec.bs[:0]
	for k := range sc {
		if !sc[k].deleted {
			bs = append(bs, sc[k].Binding)
		}
	}
	if len(bs) < old {
		clear(rec.bs[len(bs):old])
	}
	rec.bs = bs
	clear(sc)
	s.scratch = sc[:0]
	aor := rec.aor
	if len(bs) == 0 {
		s.bindings -= old
		s.removeRecord(rec)
	} else {
		s.bindings += len(bs) - old
		s.update(rec)
		dst = append(dst, bs...)
	}
	s.mu.Unlock()
	if changed {
		t.notify(aor)
	}
	return dst, nil
}

// dropOne marks one binding deleted to make room: the oldest RegisteredAt among
// bindings the request did not touch, else the touched one earliest in the request.
func dropOne(sc []entry) {
	v := -1
	for k := range sc {
		e := &sc[k]
		if !e.deleted && e.pos < 0 && (v < 0 || e.RegisteredAt.Before(sc[v].RegisteredAt)) {
			v = k
		}
	}
	if v < 0 {
		for k := range sc {
			e := &sc[k]
			if !e.deleted && (v < 0 || e.pos < sc[v].pos) {
				v = k
			}
		}
	}
	sc[v].deleted = true
}

func setString(dst *string, src string) {
	if *dst != src {
		*dst = strings.Clone(src)
	}
}

func internTransport(s string) string {
	switch s {
	case "UDP":
		return "UDP"
	case "TCP":
		return "TCP"
	case "TLS":
		return "TLS"
	case "WS":
		return "WS"
	case "WSS":
		return "WSS"
	case "udp":
		return "udp"
	case "tcp":
		return "tcp"
	}
	return strings.Clone(s)
}

func appendLive(dst, bs []Binding, nowN int64) []Binding {
	for i := range bs {
		if bs[i].ExpiresAt.UnixNano() > nowN {
			dst = append(dst, bs[i])
		}
	}
	return dst
}

func (t *Table) notify(aor string) {
	if f := t.OnChange; f != nil {
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
// into the AOR. Per URI (URIEqual) the newer binding is kept: with the same
// Call-ID the higher CSeq (then the later ExpiresAt); with different Call-IDs the
// later RegisteredAt (then the later ExpiresAt). Bindings with an empty URI are
// ignored; bindings already past ExpiresAt are kept and left to ExpireDue, which
// then reports them through OnChange so the status drops them. MaxContacts is not
// applied (the next REGISTER does). Restore itself does not call OnChange.
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
			if URIEqual(rec.bs[k].URI, b.URI) {
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
	s := t.shard(aor)
	s.mu.Lock()
	rec := s.recs[aor]
	if rec == nil {
		s.mu.Unlock()
		return false
	}
	old := len(rec.bs)
	bs := rec.bs[:0]
	for _, b := range rec.bs {
		if !URIEqual(b.URI, uri) {
			bs = append(bs, b)
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

// ExpireDue drops every binding with ExpiresAt <= now and returns the AORs that
// lost one (each once), calling OnChange for each of them too. Cost: one heap
// peek per shard plus O(log n) per due AOR; no scan of the table.
func (t *Table) ExpireDue(now time.Time) (changed []string) {
	nowN := now.UnixNano()
	for i := range t.shards {
		s := &t.shards[i]
		first := len(changed)
		s.mu.Lock()
		for len(s.heap) > 0 && s.heap[0].next <= nowN {
			rec := s.heap[0]
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
		if t.OnChange != nil {
			for _, aor := range changed[first:] {
				t.OnChange(aor)
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
		if len(s.heap) > 0 && (!found || s.heap[0].next < best) {
			best, found = s.heap[0].next, true
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
