package status

import (
	"context"
	"testing"
	"time"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

const (
	movedFlow = "sip:1001@df7jal23ls0d.invalid;transport=tcp;ob"
	instance  = "<urn:uuid:00000000-0000-0000-0000-000000000001>"
)

// registerFlow has the device register its outbound flow (reg-id 1) over TCP
// from source at now.
func registerFlow(t *testing.T, table *location.Table, callID string, cseq uint32, source string, now time.Time) {
	t.Helper()
	_, err := table.Register(location.Request{
		AOR: testAOR, CallID: callID, CSeq: cseq, Expires: 600,
		Contacts:  []location.ContactUpdate{{URI: movedFlow, Expires: -1, Instance: instance, RegID: 1}},
		Source:    source,
		Transport: "TCP",
		UserAgent: "test-phone",
		Now:       now,
	}, policy)
	if err != nil {
		t.Fatalf("REGISTER of the flow: %v", err)
	}
}

func connected(location.Binding) bool    { return true }
func disconnected(location.Binding) bool { return false }

// holderOf is the registrar status names for the moved flow, "" for none.
func holderOf(t *testing.T, w *Writer) string {
	t.Helper()
	ext := statusOf(t, w.cfg.Client)
	b, ok := bindingOf(ext, movedFlow)
	if !ok {
		return ""
	}
	return b.Registrar
}

// moveFlow registers the flow at a, then (later by step, over a new
// connection) at b, and writes both in that order.
func moveFlow(t *testing.T, step time.Duration, sameCallID bool) (a, b *Writer, tableA, tableB *location.Table) {
	t.Helper()
	c, _ := fakeAPIServer(t)
	a, tableA = newTestWriter(c, "replica-a")
	b, tableB = newTestWriter(c, "replica-b")
	now := time.Now().Truncate(time.Second)
	registerFlow(t, tableA, "call-1", 1, "192.0.2.10:40001", now)
	a.Flush(context.Background())
	callID := "call-2"
	if sameCallID {
		callID = "call-1"
	}
	registerFlow(t, tableB, callID, 2, "192.0.2.10:40002", now.Add(step))
	b.Flush(context.Background())
	if got := holderOf(t, a); got != "replica-b" {
		t.Fatalf("after the move status shows the flow under %q", got)
	}
	return a, b, tableA, tableB
}

// The old replica drops a flow that moved, whether the new registration is
// newer by CSeq (one Call-ID, as JsSIP keeps), by time, or only its own
// connection is gone; a second device it then writes leaves the entry to the
// new replica.
func TestMovedFlowIsDroppedByTheOldReplica(t *testing.T) {
	for _, tc := range []struct {
		name       string
		step       time.Duration
		sameCallID bool
		alive      Alive
	}{
		{"same Call-ID, higher CSeq", 0, true, connected},
		{"new Call-ID, a later second", 2 * time.Second, false, connected},
		{"same second, old connection gone", 0, false, disconnected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, tableA, _ := moveFlow(t, tc.step, tc.sameCallID)
			a.Reconcile(testAOR, statusOf(t, a.cfg.Client).Status.Bindings, tc.alive)
			if bs := tableA.Lookup(testAOR, time.Now()); len(bs) != 0 {
				t.Fatalf("replica-a still holds %v", bs)
			}
			register(t, tableA, "sip:desk@192.0.2.11", "call-desk", 1, 600, time.Now())
			a.Flush(context.Background())
			if got := holderOf(t, a); got != "replica-b" {
				t.Errorf("after replica-a wrote the extension again status shows the flow under %q", got)
			}
		})
	}
}

// Within one second, with the old connection still up, neither replica can
// tell which is newer: the old one keeps its flow, and writes nothing back.
func TestSameSecondLiveFlowsAreLeftAlone(t *testing.T) {
	a, _, tableA, _ := moveFlow(t, 0, false)
	a.Reconcile(testAOR, statusOf(t, a.cfg.Client).Status.Bindings, connected)
	if bs := tableA.Lookup(testAOR, time.Now()); len(bs) != 1 {
		t.Fatalf("replica-a holds %d bindings, want its flow", len(bs))
	}
	if a.cfg.Changes.Len() != 0 {
		t.Error("replica-a, whose name loses the tie, marked the extension for writing")
	}
}

// The old replica's write lands after the new one's (it took the entry back
// before it saw the move): the new replica writes again, the old one yields, and
// status ends under the new one.
func TestNewReplicaReassertsAMovedFlowTakenBack(t *testing.T) {
	a, b, tableA, _ := moveFlow(t, 2*time.Second, false)
	register(t, tableA, "sip:desk@192.0.2.11", "call-desk", 1, 600, time.Now())
	a.Flush(context.Background()) // forces the stale flow back
	if got := holderOf(t, a); got != "replica-a" {
		t.Fatalf("setup: status shows the flow under %q, want it taken back by replica-a", got)
	}
	b.Reconcile(testAOR, statusOf(t, b.cfg.Client).Status.Bindings, connected)
	if b.cfg.Changes.Len() == 0 {
		t.Fatal("replica-b did not mark the extension for writing")
	}
	b.Flush(context.Background())
	a.Reconcile(testAOR, statusOf(t, a.cfg.Client).Status.Bindings, connected)
	a.Flush(context.Background())
	if got := holderOf(t, a); got != "replica-b" {
		t.Errorf("status shows the flow under %q, want replica-b", got)
	}
	if bs := tableA.Lookup(testAOR, time.Now()); len(bs) != 1 || bs[0].URI != "sip:desk@192.0.2.11" {
		t.Errorf("replica-a holds %v, want only its desk phone", bs)
	}
}

// The old replica, its connection gone, yields and removes the entry it had
// taken back; the new replica, finding the entry it published gone, writes it
// again.
func TestNewReplicaRewritesAFlowWhoseEntryWasRemoved(t *testing.T) {
	a, b, tableA, _ := moveFlow(t, 0, false)
	register(t, tableA, "sip:desk@192.0.2.11", "call-desk", 1, 600, time.Now())
	a.Flush(context.Background())
	// replica-a saw replica-b's entry before its own write landed: it yields.
	tableA.RemoveIf(testAOR, func(b *location.Binding) bool { return b.URI == movedFlow })
	a.Flush(context.Background())
	if got := holderOf(t, a); got != "" {
		t.Fatalf("setup: status shows the flow under %q, want it gone", got)
	}
	b.Reconcile(testAOR, statusOf(t, b.cfg.Client).Status.Bindings, connected)
	b.Flush(context.Background())
	if got := holderOf(t, a); got != "replica-b" {
		t.Errorf("status shows the flow under %q, want replica-b", got)
	}
}

// After a restart all our connections are gone: a flow another replica holds
// since is not restored.
func TestRestoreSkipsAFlowTakenOverElsewhere(t *testing.T) {
	b := location.Binding{URI: movedFlow, Transport: "TCP", Instance: instance, RegID: 1}
	other := toAPI(location.Binding{URI: "sip:new@x.invalid;transport=tcp", Transport: "TCP", Instance: instance, RegID: 1,
		ExpiresAt: time.Now().Add(time.Minute)}, "replica-b", "")
	if !takenOver(b, "replica-a", []sipv1.Binding{other}, time.Now()) {
		t.Error("a flow replica-b holds is restored at replica-a")
	}
	udp := b
	udp.Transport = "UDP"
	if takenOver(udp, "replica-a", []sipv1.Binding{other}, time.Now()) {
		t.Error("a UDP binding, reachable from every replica, is not restored")
	}
}
