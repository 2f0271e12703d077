package location

import (
	"errors"
	"strings"
	"time"
)

// ContactUpdate is one Contact header value of a REGISTER, already parsed by the caller.
type ContactUpdate struct {
	URI     string // the Contact URI as the device wrote it (no display name, no header params)
	Expires int64  // the Contact's expires parameter, -1 (any negative) when absent
	// Instance (+sip.instance without quotes) and RegID (reg-id, 0 when absent): with
	// both set the contact is an outbound flow (RFC 5626), see outbound.go.
	Instance string
	RegID    int32
	// Q is the Contact's q, the zero Q when it gave none.
	Q Q
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
	Path        string          // the Path (RFC 3327) as a header value, "<uri>, <uri>", top first
	UserAgent   string
	MaxContacts int       // per-extension override, 0 = policy's
	Now         time.Time // the time of the request (the caller's clock); the monotonic reading is dropped
}

var (
	// ErrBadWildcard: Contact: * with other contacts or without "Expires: 0" (400).
	ErrBadWildcard = errors.New("location: Contact * requires exactly one Contact and Expires: 0")
	// ErrOutOfOrder: same Call-ID as a stored binding with a CSeq not higher (400 Out Of Order CSeq).
	ErrOutOfOrder = errors.New("location: REGISTER out of order (same Call-ID, CSeq not higher)")
	// ErrTooManyContacts: the REGISTER would exceed MaxContacts under OnMaxContacts=Reject (403).
	ErrTooManyContacts = errors.New("location: too many contacts")
)

// entry is a tentative binding while a REGISTER is applied.
type entry struct {
	Binding
	orig    int // index in record.bs, -1 when added by this request
	pos     int // index of the last Contact of the request that touched it, -1 when untouched
	deleted bool
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
// under the shard lock, Call-ID/CSeq ordering (400) and MaxContacts (403). Any
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
//     URI matches (URIEqual) is the binding; for an outbound contact, the one with
//     its +sip.instance and reg-id (RFC 5626 §6, see outbound.go). None: added (unless the interval is
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
//   - ReplaceOldest: while the AOR has more than MaxContacts bindings, drop the
//     one with the oldest RegisteredAt among those this request did not add or
//     refresh; when only such bindings remain (the request alone lists more than
//     MaxContacts), keep the last MaxContacts contacts in the request's order and
//     drop the earlier ones.
//   - Reject: ErrTooManyContacts when the result exceeds MaxContacts and the
//     request adds a binding; a request that adds nothing (refresh, removal) is
//     accepted even if the AOR is already over a since-lowered limit.
func (t *Table) RegisterAppend(dst []Binding, req Request, p Policy) ([]Binding, error) {
	if err := checkShape(&req, &p); err != nil {
		return dst, err
	}
	s := t.shard(req.AOR)
	s.mu.Lock()
	dst, aor, changed, err := s.register(dst, &req, &p)
	s.mu.Unlock()
	if changed {
		t.notify(aor)
	}
	return dst, err
}

// checkShape refuses, before taking any lock, what is wrong whatever the table
// holds: a malformed Contact: * (400) and an interval below MinExpires (423).
func checkShape(req *Request, p *Policy) error {
	if req.Wildcard {
		if len(req.Contacts) > 0 || req.Expires != 0 {
			return ErrBadWildcard
		}
		return nil
	}
	for i := range req.Contacts {
		if _, err := grant(req.Contacts[i].Expires, req.Expires, p); err != nil {
			return err
		}
	}
	return nil
}

// register applies the request under s.mu: a query, Contact: *, or contacts. When
// it changed what onChange reports, it returns the AOR (the table's copy, which
// does not pin the request) and true.
func (s *shard) register(dst []Binding, req *Request, p *Policy) (_ []Binding, aor string, changed bool, err error) {
	now := req.Now.Round(0) // wall clock only: heap order and restored times agree
	nowN := now.UnixNano()
	rec := s.recs[req.AOR]
	switch {
	case req.Wildcard:
		aor, changed, err = s.removeAll(rec, req, nowN)
		return dst, aor, changed, err
	case len(req.Contacts) == 0: // a query
		if rec != nil {
			dst = appendLive(dst, rec.bs, nowN)
		}
		return dst, "", false, nil
	}

	limit := p.maxContacts(req.MaxContacts)
	sc, purged := s.tentative(rec, nowN)
	origLive := len(sc)
	sc, err = applyContacts(sc, req, p, now)
	live := 0
	if err == nil {
		live, err = makeRoom(sc, limit, p.OnMaxContacts)
	}
	if err == nil {
		// Before commit, which overwrites the stored bindings differs compares with.
		changed = purged || live != origLive || differs(sc, rec)
		if rec != nil || live > 0 {
			dst, rec = s.commit(dst, rec, sc, req.AOR, limit)
			aor = rec.aor
		}
	}
	clear(sc)
	s.scratch = sc[:0]
	return dst, aor, changed, err
}

// removeAll applies Contact: * (§10.3 step 6): every binding goes, unless one of
// them has the request's Call-ID with a CSeq not lower than the request's.
func (s *shard) removeAll(rec *record, req *Request, nowN int64) (aor string, changed bool, err error) {
	if rec == nil {
		return "", false, nil
	}
	for i := range rec.bs {
		b := &rec.bs[i]
		if b.ExpiresAt.UnixNano() > nowN && b.CallID == req.CallID && req.CSeq <= b.CSeq {
			return "", false, ErrOutOfOrder
		}
	}
	s.removeRecord(rec)
	return rec.aor, true, nil
}

// tentative loads the AOR's live bindings into the shard's scratch list; purged
// reports whether a stored binding had expired (dropping it is a change).
func (s *shard) tentative(rec *record, nowN int64) (sc []entry, purged bool) {
	sc = s.scratch[:0]
	if rec == nil {
		return sc, false
	}
	for i := range rec.bs {
		if rec.bs[i].ExpiresAt.UnixNano() > nowN {
			sc = append(sc, entry{Binding: rec.bs[i], orig: i, pos: -1})
		} else {
			purged = true
		}
	}
	return sc, purged
}

// applyContacts applies each Contact of the request in turn (§10.3 step 7) to the
// tentative bindings.
func applyContacts(sc []entry, req *Request, p *Policy, now time.Time) ([]entry, error) {
	for i := range req.Contacts {
		c := &req.Contacts[i]
		exp, _ := grant(c.Expires, req.Expires, p) // checked by checkShape
		j := matching(sc, c)
		if j < 0 {
			if exp > 0 { // removing what is not there does nothing
				sc = append(sc, entry{orig: -1, pos: i, Binding: newBinding(c, req, exp, now)})
			}
			continue
		}
		e := &sc[j]
		if e.pos < 0 && e.CallID == req.CallID && req.CSeq <= e.CSeq {
			return sc, ErrOutOfOrder
		}
		e.pos = i
		if exp == 0 {
			e.deleted = true
			continue
		}
		e.refresh(c, req, exp, now)
	}
	return sc, nil
}

// newBinding is a contact the AOR did not hold. Its four strings are copied into
// one allocation they share (always a copy: a + with one non-empty operand would
// return it uncopied, pinning the request's buffer).
func newBinding(c *ContactUpdate, req *Request, exp int32, now time.Time) Binding {
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
	return Binding{
		URI:          all[:n1],
		Source:       all[n1:n2],
		Transport:    internTransport(req.Transport),
		UserAgent:    all[n2:n3],
		CallID:       all[n3:],
		CSeq:         req.CSeq,
		Expires:      exp,
		ExpiresAt:    now.Add(time.Duration(exp) * time.Second),
		RegisteredAt: now,
		Instance:     strings.Clone(c.Instance),
		RegID:        c.RegID,
		Q:            c.Q,
		Path:         strings.Clone(req.Path),
	}
}

// refresh updates a held binding from a contact that names it. A new Call-ID (or a
// contact removed earlier in the same request) is a new registration.
func (e *entry) refresh(c *ContactUpdate, req *Request, exp int32, now time.Time) {
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
	setString(&e.Instance, c.Instance)
	e.RegID = c.RegID
	e.Q = c.Q // none when the refresh gave none: the binding is what it last said
	setString(&e.Path, req.Path)
	e.CSeq = req.CSeq
	e.Expires = exp
	e.ExpiresAt = now.Add(time.Duration(exp) * time.Second)
}

// makeRoom holds the tentative bindings to limit: it drops bindings under
// ReplaceOldest, or refuses a request that adds one under Reject. It returns how
// many bindings stay.
func makeRoom(sc []entry, limit int, action MaxContactsAction) (int, error) {
	live, added := 0, false
	for k := range sc {
		if !sc[k].deleted {
			live++
			added = added || sc[k].orig < 0
		}
	}
	if live <= limit {
		return live, nil
	}
	if action == Reject {
		if added {
			return live, ErrTooManyContacts
		}
		return live, nil
	}
	for ; live > limit; live-- {
		dropOne(sc)
	}
	return live, nil
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

// differs reports whether a kept binding is new or changed in a way onChange
// reports (Binding.Differs).
func differs(sc []entry, rec *record) bool {
	for k := range sc {
		e := &sc[k]
		if !e.deleted && (e.orig < 0 || rec.bs[e.orig].Differs(e.Binding)) {
			return true
		}
	}
	return false
}

// commit stores the kept bindings as the AOR's (§10.3 step 8), creating its record
// (with room for limit bindings) or removing it, and appends them to dst. It
// returns the record, removed from the shard when no binding is kept.
func (s *shard) commit(dst []Binding, rec *record, sc []entry, aor string, limit int) ([]Binding, *record) {
	if rec == nil {
		rec = &record{aor: strings.Clone(aor), hidx: -1, bs: make([]Binding, 0, limit)}
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
	if len(bs) == 0 {
		s.bindings -= old
		s.removeRecord(rec)
		return dst, rec
	}
	s.bindings += len(bs) - old
	s.update(rec)
	return append(dst, bs...), rec
}
