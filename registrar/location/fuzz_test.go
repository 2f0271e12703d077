package location

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// A URI pool on which URIEqual is an equivalence relation (no parameter appears
// with two values), so "no two bindings of an AOR match" is a fair invariant.
var fuzzURIs = []string{
	"sip:a@h", "SIP:a@H", "sip:a@h;ob", "sip:A@h", "sip:a@h:5060",
	"sip:a@h;transport=tcp", "sip:b@10.0.0.1", "sip:%62@10.0.0.1", "sip:c@h", "sips:a@h",
}

var fuzzExpires = []int64{-1, 0, 0, 30, 60, 61, 120, 3600, 100000, -1}

type fuzzReader struct {
	b []byte
	i int
}

func (r *fuzzReader) byte() byte {
	if r.i >= len(r.b) {
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *fuzzReader) done() bool { return r.i >= len(r.b) }

func FuzzRegister(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 1, 7, 0, 2, 0, 6, 1, 6, 4, 30})
	f.Add([]byte{0x13, 1, 1, 1, 2, 0, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 4, 200, 5, 1})
	f.Add([]byte{0x01, 3, 0, 2, 9, 3, 6, 1, 2, 3, 4, 9, 9, 6, 0, 7, 1, 3, 100, 4, 250, 4, 250})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		cfg := r.byte()
		p := Policy{MinExpires: 60, DefaultExpires: 3600, MaxExpires: 7200,
			MaxContacts: int(cfg%4) + 1, OnMaxContacts: ReplaceOldest}
		if cfg&0x10 != 0 {
			p.OnMaxContacts = Reject
		}
		fired := map[string]int{}
		tb := New(int(cfg>>5)+1, func(aor string) { fired[aor]++ })
		aors := []string{"1@d", "2@d", "3@d"}
		now := t0
		for steps := 0; !r.done() && steps < 200; steps++ {
			op := r.byte()
			aor := aors[int(op>>4)%len(aors)]
			before := tb.Snapshot(aor)
			clear(fired)
			switch op % 8 {
			case 0, 1, 2, 3: // REGISTER
				flags := r.byte()
				rq := Request{
					AOR:         aor,
					CallID:      fmt.Sprint("c", flags%3),
					CSeq:        uint32(r.byte() % 8),
					Expires:     fuzzExpires[int(r.byte())%len(fuzzExpires)],
					Wildcard:    flags&0x80 != 0 && flags&0x40 != 0,
					Source:      fmt.Sprint("s", (flags>>2)%2),
					Transport:   "UDP",
					UserAgent:   "ua",
					MaxContacts: int(flags>>4) % 4,
					Now:         now,
				}
				n := int(r.byte() % 5)
				for k := 0; k < n; k++ {
					c := r.byte()
					rq.Contacts = append(rq.Contacts, ContactUpdate{URI: fuzzURIs[int(c)%len(fuzzURIs)], Expires: fuzzExpires[int(c>>4)%len(fuzzExpires)]})
				}
				prevLive := len(tb.Lookup(aor, now))
				got, err := tb.Register(rq, p)
				after := tb.Snapshot(aor)
				if err != nil {
					var ite *IntervalTooBriefError
					if !errors.Is(err, ErrBadWildcard) && !errors.Is(err, ErrOutOfOrder) && !errors.Is(err, ErrTooManyContacts) && !errors.As(err, &ite) {
						t.Fatalf("unexpected error %v", err)
					}
					if !sameBindings(before, after) {
						t.Fatalf("failed Register (%v) changed %s: before %s after %s", err, aor, dump(before), dump(after))
					}
					if len(fired) != 0 {
						t.Fatalf("failed Register fired OnChange")
					}
					if got != nil {
						t.Fatalf("failed Register returned bindings")
					}
					break
				}
				if look := tb.Lookup(aor, now); !sameBindings(got, look) {
					t.Fatalf("Register returned %s, Lookup %s", dump(got), dump(look))
				}
				max := rq.MaxContacts
				if max == 0 {
					max = p.MaxContacts
				}
				if len(rq.Contacts) > 0 && len(got) > max && (p.OnMaxContacts == ReplaceOldest || len(got) > prevLive) {
					t.Fatalf("%d bindings over max %d (prev %d): %s", len(got), max, prevLive, dump(got))
				}
				if rq.Wildcard && len(got) != 0 {
					t.Fatal("wildcard left bindings")
				}
				checkChange(t, before, after, fired[aor], now)
			case 4: // time passes
				now = now.Add(time.Duration(r.byte()) * time.Second)
			case 5:
				changed := tb.ExpireDue(now)
				for _, a := range changed {
					if fired[a] != 1 {
						t.Fatalf("ExpireDue reported %s without one OnChange", a)
					}
				}
				if len(fired) != len(changed) {
					t.Fatalf("ExpireDue: %v vs OnChange %v", changed, fired)
				}
			case 6:
				if r.byte()%4 == 0 {
					got := tb.Remove(aor)
					if !sameBindings(got, before) || fired[aor] != min(len(before), 1) {
						t.Fatal("Remove")
					}
				} else {
					u := fuzzURIs[int(r.byte())%len(fuzzURIs)]
					ok := tb.RemoveURI(aor, u)
					if ok != (len(tb.Snapshot(aor)) < len(before)) || fired[aor] != map[bool]int{true: 1}[ok] {
						t.Fatal("RemoveURI")
					}
				}
			case 7:
				n := int(r.byte() % 3)
				var bs []Binding
				for k := 0; k < n; k++ {
					c := r.byte()
					bs = append(bs, Binding{URI: fuzzURIs[int(c)%len(fuzzURIs)], CallID: fmt.Sprint("c", c%3), CSeq: uint32(c % 5),
						Expires: 60, RegisteredAt: now.Add(-time.Duration(c) * time.Second), ExpiresAt: now.Add(time.Duration(int(c)-100) * time.Second)})
				}
				tb.Restore(aor, bs)
				if len(fired) != 0 {
					t.Fatal("Restore fired OnChange")
				}
			}
			checkTable(t, tb, aors, now)
		}
	})
}

// checkChange: onChange fires once on a real change and never on a pure refresh.
func checkChange(t *testing.T, before, after []Binding, fired int, now time.Time) {
	t.Helper()
	material := len(before) != len(after)
	anyDiff := material
	for i := 0; !material && i < len(after); i++ {
		material = before[i].Differs(after[i])
		anyDiff = anyDiff || material || !before[i].RegisteredAt.Equal(after[i].RegisteredAt)
	}
	hadExpired := false
	for _, b := range before {
		hadExpired = hadExpired || !b.Live(now)
	}
	if fired > 1 || material && fired != 1 || fired == 1 && !anyDiff && !hadExpired {
		t.Fatalf("OnChange fired %d times: before %s after %s", fired, dump(before), dump(after))
	}
}

func checkTable(t *testing.T, tb *Table, aors []string, now time.Time) {
	t.Helper()
	nA, nB := 0, 0
	var next time.Time
	for _, aor := range aors {
		snap := tb.Snapshot(aor)
		if snap != nil {
			nA++
			if len(snap) == 0 {
				t.Fatalf("%s: empty record kept", aor)
			}
		}
		nB += len(snap)
		for i, b := range snap {
			if next.IsZero() || b.ExpiresAt.Before(next) {
				next = b.ExpiresAt
			}
			for j := i + 1; j < len(snap); j++ {
				if URIEqual(b.URI, snap[j].URI) {
					t.Fatalf("%s: duplicate bindings %s", aor, dump(snap))
				}
			}
		}
		for _, b := range tb.Lookup(aor, now) {
			if !b.Live(now) || b.Remaining(now) <= 0 {
				t.Fatalf("Lookup returned an expired binding %s", dump([]Binding{b}))
			}
		}
	}
	if a, b := tb.Len(); a != nA || b != nB {
		t.Fatalf("Len = %d,%d, snapshots %d,%d", a, b, nA, nB)
	}
	got, ok := tb.NextExpiry()
	if ok != (nB > 0) || ok && !got.Equal(next) {
		t.Fatalf("NextExpiry = %v %v, want %v", got, ok, next)
	}
}
