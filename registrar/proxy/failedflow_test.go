package proxy

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/location"
)

const (
	flowDomain   = "acme.example"
	flowAOR      = "1001@" + flowDomain
	flowInstance = "<urn:uuid:1>"
	flowContact  = "sip:1001@x.invalid;transport=tcp;ob"
)

// flowTargets is a Targets whose table holds the device's flows (reg-ids) over
// TCP, each from source 192.0.2.1:4000<reg-id>, with up the flows whose
// connection is alive and shown the entries of other replicas.
func flowTargets(t *testing.T, up map[string]bool, shown []sipv1.Binding, regIDs ...int32) *Targets {
	t.Helper()
	now := time.Now()
	dir := &directory.Static{
		Domains:     map[string]*directory.Domain{flowDomain: directory.NewDomain(published.DomainConfig{Domain: flowDomain, Realm: flowDomain})},
		Credentials: map[string]*directory.Credential{flowAOR: {Extension: "1001", Domain: flowDomain, AOR: flowAOR}},
	}
	table := location.New(1, nil)
	for _, id := range regIDs {
		if _, err := table.Register(location.Request{AOR: flowAOR, CallID: "c", CSeq: uint32(id), Expires: 600, Now: now,
			Source: flowSource(id), Transport: "TCP",
			Contacts: []location.ContactUpdate{{URI: flowContact, Expires: -1, Instance: flowInstance, RegID: id}}},
			dir.Domains[flowDomain].Policy); err != nil {
			t.Fatal(err)
		}
	}
	return &Targets{Directory: dir, Table: table, Extensions: fakeExtensions{flowAOR: {Bindings: shown}}, Replica: "self",
		FlowAlive: func(transport, source string) bool { return transport == "TCP" && up[source] }}
}

func flowSource(regID int32) string { return fmt.Sprintf("192.0.2.1:4000%d", regID) }

// A device whose first flow failed is reached over its second (RFC 5626 §5.3),
// whichever of the two failed.
func TestFindTakesTheDevicesOtherFlowWhenOneFailed(t *testing.T) {
	for _, failed := range []int32{1, 2} {
		other := 3 - failed
		l := flowTargets(t, map[string]bool{flowSource(other): true}, nil, 1, 2)
		st, ts := l.Find(flowDomain, "1001", time.Now())
		if st != Found || len(ts) != 1 || ts[0].RegID != other || ts[0].Source != flowSource(other) {
			t.Errorf("flow %d failed: %v %+v, want only flow %d", failed, st, ts, other)
		}
		if n := len(l.Table.Lookup(flowAOR, time.Now())); n != 2 {
			t.Errorf("flow %d failed: the table holds %d flows, want both (the failed one until the device registers it anew)", failed, n)
		}
	}
}

// A device whose only flow failed: the branch ends as 430 (flowHop), so Find
// still returns it.
func TestFindKeepsAFailedFlowWithNoOther(t *testing.T) {
	l := flowTargets(t, nil, nil, 1)
	if st, ts := l.Find(flowDomain, "1001", time.Now()); st != Found || len(ts) != 1 || !ts[0].Local {
		t.Errorf("%v %+v, want the failed flow", st, ts)
	}
}

// The device reconnected to another replica and registered the same flow
// there: our failed one gives way to it, and leaves our table.
func TestFindUsesTheFlowAnotherReplicaTookOver(t *testing.T) {
	shown := []sipv1.Binding{{URI: flowContact, Registrar: "b", Source: "198.51.100.9:5555", Transport: "TCP",
		ExpiresAt: metav1.NewTime(time.Now().Add(time.Hour)), Instance: flowInstance, RegID: 1,
		FlowRoute: "sip:10.0.0.2:5060;transport=tcp;lr;ob"}}
	l := flowTargets(t, nil, shown, 1)
	st, ts := l.Find(flowDomain, "1001", time.Now())
	if st != Found || len(ts) != 1 || ts[0].Local || ts[0].Registrar != "b" || ts[0].FlowRoute == "" {
		t.Fatalf("%v %+v, want the flow replica b holds", st, ts)
	}
	if bs := l.Table.Lookup(flowAOR, time.Now()); len(bs) != 0 {
		t.Errorf("the failed flow stays in our table: %+v", bs)
	}
	// With its connection up, ours is used, and stays.
	l = flowTargets(t, map[string]bool{flowSource(1): true}, shown, 1)
	if st, ts := l.Find(flowDomain, "1001", time.Now()); st != Found || len(ts) != 1 || !ts[0].Local {
		t.Errorf("live flow: %v %+v, want ours", st, ts)
	}
}
