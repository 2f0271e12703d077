// REGISTER bindings: wildcard, Call-ID/CSeq order, max contacts, queries, what is recorded.

package register

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// §10.3 step 5: Contact: * with Expires: 0 removes every binding; * in any other
// shape is 400.
func TestWildcardContact(t *testing.T) {
	for _, tc := range []struct {
		name     string
		contacts []string
		expires  string
		code     int
		left     int
	}{
		{"* with Expires: 0 removes all", []string{"*"}, "0", sip.StatusOK, 0},
		{"* without Expires", []string{"*"}, "", sip.StatusBadRequest, 2},
		{"* with Expires: 60", []string{"*"}, "60", sip.StatusBadRequest, 2},
		{"* and another contact, two headers", []string{"*", "<sip:1001@198.51.100.9>"}, "0", sip.StatusBadRequest, 2},
		{"* and another contact, one header", []string{"*, <sip:1001@198.51.100.9>"}, "0", sip.StatusBadRequest, 2},
		{"* twice, two headers", []string{"*", "*"}, "0", sip.StatusBadRequest, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d, other := e.device(testUser, testPassword), e.device(testUser, testPassword)
			other.contact = "<sip:1001@198.51.100.7:5060>"
			mustStatus(t, d.register(nil), sip.StatusOK, "")
			mustStatus(t, other.register(nil), sip.StatusOK, "")
			res := d.register(func(m *msg) { m.contacts, m.expires = tc.contacts, tc.expires })
			reason := "OK"
			if tc.code == sip.StatusBadRequest {
				reason = reasonBadWildcard
			}
			mustStatus(t, res, tc.code, reason)
			if tc.code == sip.StatusOK && res.GetHeader("Contact") != nil {
				t.Errorf("200 after removing all lists %q", contactValues(res))
			}
			if n := len(e.bindings(testUser)); n != tc.left {
				t.Errorf("%d bindings left, want %d", n, tc.left)
			}
		})
	}
}

// §25.1: a SIP or SIPS Contact must name a host; one without is refused 400 with
// its signed REGISTER, on either parser, and nothing of the request is applied.
func TestContactWithoutHostIs400(t *testing.T) {
	for _, p := range parsers {
		for _, contact := range []string{"<sip:1001@>", "<sip:>", "<sips:1001@>", "sip:1001@", "<sip:1001@:5060>", "<SIP:1001@>"} {
			t.Run(p.name+"/"+contact, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				mustStatus(t, d.register(nil), sip.StatusOK, "")
				res := d.register(func(m *msg) { m.contacts = []string{"<sip:1001@198.51.100.9>", contact} })
				mustStatus(t, res, sip.StatusBadRequest, "Malformed Contact")
				if bs := e.bindings(testUser); len(bs) != 1 || bs[0].URI != "sip:1001@192.0.2.10:5062;transport=udp" {
					t.Errorf("bindings %+v: the refused REGISTER was applied", bs)
				}
			})
		}
	}
	// A Contact of another scheme has no host of its own to check.
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	mustStatus(t, d.register(func(m *msg) { m.contacts = []string{"<tel:+15551001>"} }), sip.StatusOK, "")
}

// §10.3 step 7: with the same Call-ID, a CSeq not above the stored one is out of
// order: 400, not a 500 that invites a retry; a new Call-ID replaces the binding
// whatever its CSeq.
func TestCallIDAndCSeqOrdering(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callID   string // "" keeps the device's
		cseqDiff int    // against the stored CSeq
		code     int
		reason   string
	}{
		{"same Call-ID, higher CSeq", "", 1, sip.StatusOK, "OK"},
		{"same Call-ID, same CSeq", "", 0, sip.StatusBadRequest, reasonOutOfOrder},
		{"same Call-ID, lower CSeq", "", -1, sip.StatusBadRequest, reasonOutOfOrder},
		{"new Call-ID, lower CSeq", "rebooted@192.0.2.10", -1, sip.StatusOK, "OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.cseq = 10
			mustStatus(t, d.register(nil), sip.StatusOK, "")
			stored := e.bindings(testUser)[0]

			m := d.next()
			m.cseq = uint32(int(stored.CSeq) + tc.cseqDiff)
			if tc.callID != "" {
				m.callID = tc.callID
			}
			m.expires = "600"
			d.sign(&m)
			res := d.send(m)
			mustStatus(t, res, tc.code, tc.reason)
			if res.GetHeader("Retry-After") != nil {
				t.Errorf("Retry-After in the answer:\n%s", res)
			}
			bs := e.bindings(testUser)
			if len(bs) != 1 {
				t.Fatalf("bindings %+v", bs)
			}
			if tc.code != sip.StatusOK && bs[0] != stored {
				t.Errorf("binding changed by a refused request: %+v", bs[0])
			}
			if tc.code == sip.StatusOK && (bs[0].CSeq != m.cseq || bs[0].CallID != m.callID || bs[0].Expires != 600) {
				t.Errorf("binding %+v not updated", bs[0])
			}
		})
	}
}

// An extension holds at most MaxContacts bindings (3 by default): a new contact
// replaces the oldest (VoIPbin's behaviour), or is refused with 403 under Reject.
func TestMaxContacts(t *testing.T) {
	register := func(e *env, n int) []*device {
		var ds []*device
		for i := range n {
			d := e.device(testUser, testPassword)
			d.contact = fmt.Sprintf("<sip:1001@198.51.100.%d:5060>", i+1)
			res := d.register(nil)
			if i < 3 || e.dom.OnMaxContacts != sipv1.Reject {
				mustStatus(t, res, sip.StatusOK, "")
			}
			ds = append(ds, d)
			e.advance(time.Second)
		}
		return ds
	}
	t.Run("replace oldest", func(t *testing.T) {
		e := newEnv(t)
		ds := register(e, 4)
		res := ds[3].register(nil)
		got := contactValues(res)
		if len(got) != 3 || !strings.HasPrefix(got[0], ds[3].contact) {
			t.Fatalf("Contact %q: want 3, the request's own first", got)
		}
		for _, c := range got {
			if strings.HasPrefix(c, ds[0].contact) {
				t.Errorf("the oldest contact %s survived", ds[0].contact)
			}
		}
		if n := len(e.bindings(testUser)); n != 3 {
			t.Errorf("%d bindings", n)
		}
	})
	t.Run("zero published limit is the default 3", func(t *testing.T) {
		e := newEnv(t)
		e.republish(func(c *published.DomainConfig) { c.MaxContacts, c.OnMaxContacts = 0, "" })
		register(e, 4)
		if n := len(e.bindings(testUser)); n != 3 {
			t.Errorf("%d bindings, want 3", n)
		}
	})
	t.Run("reject", func(t *testing.T) {
		e := newEnv(t)
		e.republish(func(c *published.DomainConfig) { c.OnMaxContacts = sipv1.Reject })
		ds := register(e, 3)
		before := e.bindings(testUser)
		d := e.device(testUser, testPassword)
		d.contact = "<sip:1001@203.0.113.4>"
		mustStatus(t, d.register(nil), sip.StatusForbidden, "Too Many Contacts")
		if after := e.bindings(testUser); !slices.Equal(before, after) {
			t.Errorf("bindings changed by a refused request:\n%+v\n%+v", before, after)
		}
		// A refresh of a held contact still works.
		mustStatus(t, ds[0].register(nil), sip.StatusOK, "")
		// Removing one makes room.
		mustStatus(t, ds[1].register(func(m *msg) { m.expires = "0" }), sip.StatusOK, "")
		mustStatus(t, d.register(nil), sip.StatusOK, "")
	})
}

// An extension's own MaxContacts overrides the domain's.
func TestPerCredentialMaxContactsOverride(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int32
		want  int
	}{
		{"raised to 5", 5, 5},
		{"lowered to 1", 1, 1},
		{"zero keeps the domain's", 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addExtension(testUser, testPassword, tc.limit)
			for i := range 6 {
				d := e.device(testUser, testPassword)
				d.contact = fmt.Sprintf("<sip:1001@198.51.100.%d>", i+1)
				mustStatus(t, d.register(nil), sip.StatusOK, "")
				e.advance(time.Second)
			}
			if n := len(e.bindings(testUser)); n != tc.want {
				t.Errorf("%d bindings, want %d", n, tc.want)
			}
		})
	}
}

// A REGISTER without Contact is a query: 200 listing the current bindings with
// their remaining time, changing nothing.
func TestQueryListsBindings(t *testing.T) {
	e := newEnv(t)
	desk, soft := e.device(testUser, testPassword), e.device(testUser, testPassword)
	soft.contact = "<sip:1001@198.51.100.7:5060>"
	mustStatus(t, desk.register(nil), sip.StatusOK, "")
	mustStatus(t, soft.register(func(m *msg) { m.expires = "600" }), sip.StatusOK, "")
	before := e.bindings(testUser)
	e.advance(100 * time.Second)

	q := e.device(testUser, testPassword)
	res := q.register(func(m *msg) { m.contacts = nil })
	mustStatus(t, res, sip.StatusOK, "")
	got := contactValues(res)
	slices.Sort(got)
	want := []string{desk.contact + ";expires=3500", soft.contact + ";expires=500"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Contact %q, want %q", got, want)
	}
	if after := e.bindings(testUser); !slices.Equal(before, after) {
		t.Errorf("a query changed the bindings")
	}
	// Of an AOR without bindings: 200 without Contact.
	res = e.device("1002", "another password").register(func(m *msg) { m.contacts = nil })
	mustStatus(t, res, sip.StatusOK, "")
	if res.GetHeader("Contact") != nil {
		t.Errorf("Contact %q for an AOR without bindings", contactValues(res))
	}
}

// The binding records where the request came from: source address, transport,
// User-Agent, Call-ID and CSeq.
func TestBindingRecordsSourceAndTransport(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP", "TLS"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.transport, d.src = transport, "[2001:db8::7]:5071"
			mustStatus(t, d.register(nil), sip.StatusOK, "")
			bs := e.table.Lookup(testUser+"@"+testDomain, e.now)
			if len(bs) != 1 {
				t.Fatalf("bindings %+v", bs)
			}
			b := bs[0]
			want := location.Binding{
				URI: "sip:1001@192.0.2.10:5062;transport=udp", Source: "[2001:db8::7]:5071", Transport: transport,
				UserAgent: "test-phone/1.0", CallID: d.callID, CSeq: d.cseq, Expires: 3600,
				ExpiresAt: e.now.Add(time.Hour), RegisteredAt: e.now,
			}
			if b != want {
				t.Errorf("binding\n%+v, want\n%+v", b, want)
			}
		})
	}
	t.Run("long User-Agent is cut", func(t *testing.T) {
		e := newEnv(t)
		d := e.device(testUser, testPassword)
		mustStatus(t, d.register(func(m *msg) { m.extra = append(m.extra, "User-Agent: "+strings.Repeat("é", 1000)) }), sip.StatusOK, "")
		// extra comes before the harness's own User-Agent, so the long one is first.
		ua := e.bindings(testUser)[0].UserAgent
		if len(ua) > maxUserAgentLen {
			t.Errorf("User-Agent of %d bytes kept", len(ua))
		}
	})
}
