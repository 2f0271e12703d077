package location

import (
	"errors"
	"slices"
	"testing"
)

const inst = "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"

func flow(uri string, regID int32) ContactUpdate {
	return ContactUpdate{URI: uri, Expires: -1, Instance: inst, RegID: regID}
}

func from(r Request, source, transport string) Request {
	r.Source, r.Transport = source, transport
	return r
}

// A REGISTER of the same instance and reg-id over a new flow replaces the older
// flow's binding (RFC 5626 §6), even under a new Call-ID and another Contact URI.
func TestOutboundNewFlowReplacesOld(t *testing.T) {
	tb := New(4, nil)
	mustRegister(t, tb, from(req("c1", 1, 600, 0, flow("sip:x@a.invalid;transport=tcp;ob", 1)), "198.51.100.7:40001", "TCP"), pol())
	bs := mustRegister(t, tb, from(req("c2", 1, 600, 10, flow("sip:y@b.invalid;transport=tcp;ob", 1)), "198.51.100.7:40002", "TCP"), pol())
	if len(bs) != 1 || bs[0].Source != "198.51.100.7:40002" || bs[0].URI != "sip:y@b.invalid;transport=tcp;ob" {
		t.Fatalf("want the new flow alone, got %s", dump(bs))
	}
	if !bs[0].Outbound() || bs[0].Instance != inst || bs[0].RegID != 1 || !bs[0].RegisteredAt.Equal(at(10)) {
		t.Fatalf("binding lost its flow identity or kept the old registration time: %+v", bs[0])
	}
}

// Two flows of one instance (reg-id 1 and 2) are two bindings, even with one URI;
// a plain contact with that URI is a third and takes neither over.
func TestOutboundFlowsAreDistinct(t *testing.T) {
	tb := New(4, nil)
	uri := "sip:x@a.invalid;transport=tcp;ob"
	mustRegister(t, tb, from(req("c1", 1, 600, 0, flow(uri, 1)), "198.51.100.7:40001", "TCP"), pol())
	mustRegister(t, tb, from(req("c2", 1, 600, 1, flow(uri, 2)), "198.51.100.7:40002", "TCP"), pol())
	bs := mustRegister(t, tb, req("c3", 1, 600, 2, ct(uri, -1)), pol())
	if len(bs) != 3 {
		t.Fatalf("want 3 bindings, got %s", dump(bs))
	}
	// Removing the flow of reg-id 1 leaves the other two.
	r := from(req("c1", 2, 600, 3, flow(uri, 1)), "198.51.100.7:40001", "TCP")
	r.Contacts[0].Expires = 0
	bs = mustRegister(t, tb, r, pol())
	var ids []int32
	for _, b := range bs {
		ids = append(ids, b.RegID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int32{0, 2}) {
		t.Fatalf("want the plain binding and reg-id 2 left, got %s", dump(bs))
	}
}

// The Call-ID and CSeq rules still hold for a flow: an older REGISTER of the same
// instance and reg-id, arriving late, replaces nothing.
func TestOutboundOutOfOrderKeepsFlow(t *testing.T) {
	tb := New(4, nil)
	mustRegister(t, tb, from(req("c1", 5, 600, 0, flow("sip:x@a.invalid", 1)), "198.51.100.7:40001", "TCP"), pol())
	_, err := tb.Register(from(req("c1", 4, 600, 1, flow("sip:x@a.invalid", 1)), "198.51.100.7:40009", "TCP"), pol())
	if !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("want ErrOutOfOrder, got %v", err)
	}
	if bs := tb.Lookup(aor1, at(2)); len(bs) != 1 || bs[0].Source != "198.51.100.7:40001" {
		t.Fatalf("flow changed: %s", dump(bs))
	}
}

// A reg-id without +sip.instance is ignored (RFC 5626 §6): matched by URI.
func TestRegIDWithoutInstanceIsPlain(t *testing.T) {
	tb := New(4, nil)
	c := ContactUpdate{URI: "sip:x@10.0.0.1", Expires: -1, RegID: 1}
	mustRegister(t, tb, req("c1", 1, 600, 0, c), pol())
	c.URI = "sip:y@10.0.0.2"
	bs := mustRegister(t, tb, req("c2", 1, 600, 1, c), pol())
	if len(bs) != 2 || bs[0].Outbound() || bs[1].Outbound() {
		t.Fatalf("want two plain bindings, got %s", dump(bs))
	}
}

// The Path is stored with the binding, and a new one (or none) replaces it: a
// change the table reports.
func TestPathStored(t *testing.T) {
	changes := 0
	tb := New(4, func(string) { changes++ })
	path := "<sip:edge1.example;lr>, <sip:edge2.example;lr>"
	r := req("c1", 1, 600, 0, ct("sip:x@10.0.0.1", -1))
	r.Path = path
	bs := mustRegister(t, tb, r, pol())
	if got := tb.Lookup(aor1, at(1))[0].Path; got != path {
		t.Fatalf("stored Path = %q", got)
	}
	if len(bs) != 1 || changes != 1 {
		t.Fatalf("bindings %s, changes %d", dump(bs), changes)
	}
	r = req("c1", 2, 600, 2, ct("sip:x@10.0.0.1", -1)) // refreshed without a Path
	mustRegister(t, tb, r, pol())
	if got := tb.Lookup(aor1, at(3))[0].Path; got != "" || changes != 2 {
		t.Fatalf("Path after a refresh without one = %q, changes %d", got, changes)
	}
}

// The 200 OK echoes an outbound binding's instance and reg-id: RFC 5626 clients
// (JsSIP) ignore a 200 OK whose Contact lacks them.
func TestContactValueEchoesFlow(t *testing.T) {
	b := Binding{URI: "sip:x@a.invalid;transport=ws", ExpiresAt: at(60), Instance: inst, RegID: 1}
	want := `<sip:x@a.invalid;transport=ws>;expires=60;+sip.instance="` + inst + `";reg-id=1`
	if got := b.ContactValue(at(0)); got != want {
		t.Fatalf("ContactValue = %s, want %s", got, want)
	}
}

// Restore merges a flow by instance and reg-id, not URI.
func TestRestoreKeysFlows(t *testing.T) {
	tb := New(4, nil)
	uri := "sip:x@a.invalid"
	tb.Restore(aor1, []Binding{
		{URI: uri, Instance: inst, RegID: 1, CallID: "a", CSeq: 1, ExpiresAt: at(600)},
		{URI: uri, Instance: inst, RegID: 2, CallID: "b", CSeq: 1, ExpiresAt: at(600)},
	})
	if bs := tb.Lookup(aor1, at(0)); len(bs) != 2 {
		t.Fatalf("want both flows restored, got %s", dump(bs))
	}
}
