package location

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func pol() Policy {
	return Policy{MinExpires: 60, DefaultExpires: 3600, MaxExpires: 7200, MaxContacts: 3, OnMaxContacts: ReplaceOldest}
}

func ct(uri string, exp int64) ContactUpdate { return ContactUpdate{URI: uri, Expires: exp} }

const aor1 = "1001@acme.registrar.voipbin.net"

func req(callID string, cseq uint32, hdr int64, now int, cs ...ContactUpdate) Request {
	return Request{
		AOR: aor1, CallID: callID, CSeq: cseq, Expires: hdr, Contacts: cs,
		Source: "198.51.100.7:5060", Transport: "UDP", UserAgent: "phone/1.0", Now: at(now),
	}
}

func sameBinding(a, b Binding) bool {
	return a.URI == b.URI && a.Source == b.Source && a.Transport == b.Transport &&
		a.UserAgent == b.UserAgent && a.CallID == b.CallID && a.CSeq == b.CSeq &&
		a.Expires == b.Expires && a.ExpiresAt.Equal(b.ExpiresAt) && a.RegisteredAt.Equal(b.RegisteredAt)
}

func sameBindings(a, b []Binding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameBinding(a[i], b[i]) {
			return false
		}
	}
	return true
}

func uris(bs []Binding) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = b.URI
	}
	return strings.Join(s, ",")
}

func dump(bs []Binding) string {
	var sb strings.Builder
	for _, b := range bs {
		fmt.Fprintf(&sb, "{%s cid=%s cseq=%d exp=%d at=%s reg=%s} ", b.URI, b.CallID, b.CSeq, b.Expires,
			b.ExpiresAt.Format(time.TimeOnly), b.RegisteredAt.Format(time.TimeOnly))
	}
	return sb.String()
}

// counter records onChange calls.
type counter struct{ n map[string]int }

// watched returns an empty table whose changes c counts.
func watched(shards int) (*Table, *counter) {
	c := &counter{n: map[string]int{}}
	return New(shards, func(aor string) { c.n[aor]++ }), c
}

// reset forgets the changes counted so far (those of a test's setup).
func (c *counter) reset() { clear(c.n) }

func (c *counter) take(aor string) int { n := c.n[aor]; delete(c.n, aor); return n }

func mustRegister(t *testing.T, tb *Table, r Request, p Policy) []Binding {
	t.Helper()
	bs, err := tb.Register(r, p)
	if err != nil {
		t.Fatalf("Register(%+v): %v", r, err)
	}
	return bs
}
