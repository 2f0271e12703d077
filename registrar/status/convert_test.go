package status

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// A binding written into status and read back at start-up is the binding the table
// held (metav1.Time keeps whole seconds), with this replica named as its holder.
func TestBindingRoundTripsThroughStatus(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := location.Binding{
		URI: "sip:1001@192.0.2.1:5060;transport=tcp", Source: "192.0.2.1:40000", Transport: "TCP",
		UserAgent: "phone/1.0", CallID: "c1@192.0.2.1", CSeq: 4, Expires: 600,
		ExpiresAt: at.Add(600 * time.Second), RegisteredAt: at,
		Instance: "<urn:uuid:1>", RegID: 1, Path: "<sip:edge.example;lr>", Q: location.QOf(500),
	}
	a := toAPI(b, "registrar-0", "")
	if a.Registrar != "registrar-0" {
		t.Errorf("held by %q, want registrar-0", a.Registrar)
	}
	if a.Q != "0.5" {
		t.Errorf("q %q, want 0.5 as the 200 OK lists it", a.Q)
	}
	raw, err := json.Marshal(a) // as the status stores it
	if err != nil {
		t.Fatal(err)
	}
	var stored sipv1.Binding
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	back := fromAPI(stored)
	if !back.ExpiresAt.Equal(b.ExpiresAt) || !back.RegisteredAt.Equal(b.RegisteredAt) {
		t.Errorf("times: got %v / %v, want %v / %v", back.ExpiresAt, back.RegisteredAt, b.ExpiresAt, b.RegisteredAt)
	}
	back.ExpiresAt, back.RegisteredAt = b.ExpiresAt, b.RegisteredAt
	if back != b {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, b)
	}
}

// A binding restored without a registration time (written by an older release) is
// written back without one, not as the zero time.
func TestBindingWithoutRegistrationTimeOmitsIt(t *testing.T) {
	b := location.Binding{URI: "sip:1001@192.0.2.1", ExpiresAt: time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC)}
	if a := toAPI(b, "registrar-0", ""); !a.RegisteredAt.IsZero() {
		t.Errorf("registeredAt %v, want none", a.RegisteredAt)
	}
}

// A Contact without q has none in status, and a status entry without q (or one
// written before status carried it) restores as none, not as q=0.
func TestBindingWithoutQOmitsIt(t *testing.T) {
	b := location.Binding{URI: "sip:1001@192.0.2.1", ExpiresAt: time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC)}
	a := toAPI(b, "registrar-0", "")
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if a.Q != "" || strings.Contains(string(raw), `"q"`) {
		t.Errorf("status entry %s, want no q", raw)
	}
	if back := fromAPI(a); back.Q.Given() {
		t.Errorf("restored q %v, want none", back.Q)
	}
	for s, want := range map[string]location.Q{"0": location.QOf(0), "1": location.QOf(1000), "0.001": location.QOf(1), "1.000": location.QOf(1000)} {
		if back := fromAPI(sipv1.Binding{URI: b.URI, Q: s}); back.Q != want {
			t.Errorf("q %q restored as %v, want %v", s, back.Q, want)
		}
	}
}

// Other replicas relay to a binding only this replica reaches through it: status
// names its route for an outbound flow it holds itself and for any binding on a
// connection (TCP, TLS, WS, WSS) without Path, reg-id or not; not for a binding
// behind a Path (the edge proxy holds its connection) nor for a UDP one without
// outbound, which every replica reaches (its entry must not grow).
func TestFlowRouteForBindingsOnlyThisReplicaReaches(t *testing.T) {
	const route = "sip:10.0.0.1:5060;transport=tcp;lr;ob"
	const path = "<sip:edge.example;lr;ob>"
	flow := func(transport string) location.Binding {
		return location.Binding{URI: "sip:x@a.invalid", Transport: transport, Instance: "<urn:uuid:1>", RegID: 1}
	}
	plain := func(transport string) location.Binding {
		return location.Binding{URI: "sip:x@192.0.2.1", Transport: transport}
	}
	withPath := func(b location.Binding) location.Binding { b.Path = path; return b }
	for _, tc := range []struct {
		name string
		b    location.Binding
		want string
	}{
		{"outbound flow over TCP", flow("TCP"), route},
		{"outbound flow over UDP", flow("UDP"), route},
		{"outbound flow, no transport known", flow(""), route},
		{"TCP without reg-id", plain("TCP"), route},
		{"TLS without reg-id", plain("TLS"), route},
		{"WS without reg-id", plain("WS"), route},
		{"WSS without reg-id", plain("WSS"), route},
		{"UDP without reg-id", plain("UDP"), ""},
		{"no transport known", plain(""), ""},
		{"outbound flow behind a Path", withPath(flow("TCP")), ""},
		{"TLS behind a Path", withPath(plain("TLS")), ""},
		{"UDP behind a Path", withPath(plain("UDP")), ""},
	} {
		if a := toAPI(tc.b, "r", route); a.FlowRoute != tc.want {
			t.Errorf("%s: flowRoute %q, want %q", tc.name, a.FlowRoute, tc.want)
		}
	}
}

// Two flows of one device share its Contact URI; status lists one entry per URI
// (a duplicate fails the write), the flow registered last.
func TestFlowsSharingAURIAreOneEntry(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	one := toAPI(location.Binding{URI: "sip:x@a.invalid", Instance: "i", RegID: 1, RegisteredAt: at}, "r", "")
	two := toAPI(location.Binding{URI: "sip:x@a.invalid", Instance: "i", RegID: 2, RegisteredAt: at.Add(time.Second)}, "r", "")
	out := appendByURI(appendByURI(nil, two), one)
	if len(out) != 1 || out[0].RegID != 2 {
		t.Fatalf("got %+v, want the flow of reg-id 2 alone", out)
	}
}
