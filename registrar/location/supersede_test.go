package location

import (
	"testing"
	"time"
)

func flowBinding(callID string, cseq uint32, registered time.Time) Binding {
	return Binding{URI: "sip:u@x.invalid;transport=tcp;ob", Transport: "TCP", Source: "192.0.2.1:40000",
		CallID: callID, CSeq: cseq, RegisteredAt: registered, Instance: "<urn:uuid:1>", RegID: 1}
}

func TestSupersedesOrdersByCSeqWithinACallIDElseBySecondOfRegistration(t *testing.T) {
	base := at(0).Add(200 * time.Millisecond)
	for _, tc := range []struct {
		name string
		a, b Binding
		want bool
	}{
		{"same Call-ID, higher CSeq", flowBinding("c1", 5, base), flowBinding("c1", 4, base.Add(time.Hour)), true},
		{"same Call-ID, lower CSeq", flowBinding("c1", 4, base.Add(time.Hour)), flowBinding("c1", 5, base), false},
		{"same Call-ID, same CSeq", flowBinding("c1", 4, base), flowBinding("c1", 4, base), false},
		{"new Call-ID, a second later", flowBinding("c2", 1, base.Add(time.Second)), flowBinding("c1", 9, base), true},
		{"new Call-ID, earlier", flowBinding("c2", 1, base), flowBinding("c1", 9, base.Add(time.Second)), false},
		// Status keeps whole seconds: within one, neither side can tell, so neither wins.
		{"new Call-ID, same second", flowBinding("c2", 1, base.Add(700*time.Millisecond)), flowBinding("c1", 1, base), false},
	} {
		if got := Supersedes(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Supersedes = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestOutranksAgreesOnBothSides(t *testing.T) {
	base := at(0)
	older, newer := flowBinding("c1", 1, base), flowBinding("c2", 1, base.Add(2*time.Second))
	tieA, tieB := flowBinding("c1", 1, base), flowBinding("c2", 1, base.Add(300*time.Millisecond))
	for _, tc := range []struct {
		name       string
		a, b       Binding
		wantA      bool // a, held by replica-a, stands over b, held by replica-b
		wantBOverA bool
	}{
		{"b newer", older, newer, false, true},
		{"a newer", newer, older, true, false},
		{"same second: the greater name", tieA, tieB, false, true},
	} {
		gotA := Outranks(tc.a, "replica-a", tc.b, "replica-b")
		gotB := Outranks(tc.b, "replica-b", tc.a, "replica-a")
		if gotA != tc.wantA || gotB != tc.wantBOverA {
			t.Errorf("%s: a outranks b = %v, b outranks a = %v; want %v, %v", tc.name, gotA, gotB, tc.wantA, tc.wantBOverA)
		}
		if gotA == gotB {
			t.Errorf("%s: both sides claim the binding (or neither does)", tc.name)
		}
	}
}

func TestSameBindingKeysFlowsByInstanceAndRegIDAndOthersByURI(t *testing.T) {
	f1 := flowBinding("c1", 1, at(0))
	f1moved := f1
	f1moved.URI = "sip:other@y.invalid;transport=ws"
	f2 := f1
	f2.RegID = 2
	plain := Binding{URI: "sip:u@192.0.2.1:5060"}
	plainSame := Binding{URI: "SIP:u@192.0.2.1:5060;ob"}
	switch {
	case !SameBinding(f1, f1moved):
		t.Error("a flow with a new Contact is not the same binding")
	case SameBinding(f1, f2):
		t.Error("a device's second flow is the same binding as its first")
	case !SameBinding(plain, plainSame):
		t.Error("equal Contact URIs are not the same binding")
	case SameBinding(f1, Binding{URI: f1.URI}):
		t.Error("a plain contact took over a flow")
	}
}

func TestConnectionBound(t *testing.T) {
	for _, tc := range []struct {
		b    Binding
		want bool
	}{
		{Binding{Transport: "TCP"}, true},
		{Binding{Transport: "WSS"}, true},
		{Binding{Transport: "TLS", Path: "<sip:edge;lr>"}, false},
		{Binding{Transport: "UDP"}, false},
		{Binding{}, false},
	} {
		if got := tc.b.ConnectionBound(); got != tc.want {
			t.Errorf("%+v: ConnectionBound = %v", tc.b, got)
		}
	}
}

func TestRemoveIfDropsOnlyWhatItIsToldAndReports(t *testing.T) {
	var changed []string
	tb := New(1, func(aor string) { changed = append(changed, aor) })
	tb.Restore(aor1, []Binding{
		{URI: "sip:a@h", ExpiresAt: at(100)},
		{URI: "sip:b@h", ExpiresAt: at(100)},
	})
	if tb.RemoveIf(aor1, func(*Binding) bool { return false }) || len(changed) != 0 {
		t.Fatal("RemoveIf reported a change it did not make")
	}
	if !tb.RemoveIf(aor1, func(b *Binding) bool { return b.URI == "sip:a@h" }) {
		t.Fatal("RemoveIf dropped nothing")
	}
	if bs := tb.Lookup(aor1, at(0)); len(bs) != 1 || bs[0].URI != "sip:b@h" || len(changed) != 1 {
		t.Fatalf("left %v, changes %v", bs, changed)
	}
	if !tb.RemoveIf(aor1, func(*Binding) bool { return true }) {
		t.Fatal("RemoveIf dropped nothing")
	}
	if aors, bindings := tb.Len(); aors != 0 || bindings != 0 {
		t.Fatalf("table holds %d AORs, %d bindings after removing all", aors, bindings)
	}
}
