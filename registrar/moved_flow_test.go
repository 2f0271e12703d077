package registrar_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// moveFlow has a device register its outbound flow (reg-id 1) at replica A for
// expires seconds, lose that connection, and register the same flow (instance,
// reg-id and Contact) at replica B, as a JsSIP browser or an RFC 5626 phone
// does when the Service sends its new connection elsewhere; sameCallID keeps
// the registration's Call-ID and CSeq across, as JsSIP does. It returns the
// device's new flow once status shows it under replica-b.
func moveFlow(t *testing.T, tn *tenant, expires int, sameCallID bool) *siptest.Phone {
	t.Helper()
	_, tcpA := replicaA.Addresses()
	_, tcpB := replicaB.Addresses()
	old := flowPhone(t, tn, tcpA, 1)
	old.MustRegister(expires)
	bindingsAre(t, tn, 1)
	old.Close()
	cur := flowPhone(t, tn, tcpB, 1)
	if sameCallID {
		cur.CallID, cur.CSeq = old.CallID, old.CSeq
	}
	cur.MustRegister(600)
	flowHeldBy(t, tn, "replica-b")
	return cur
}

// flowHeldBy waits until status shows the device's flow under replica.
func flowHeldBy(t *testing.T, tn *tenant, replica string) {
	t.Helper()
	eventually(t, "status shows the flow under "+replica, func() error {
		return flowEntryHeldBy(tn, replica)
	})
}

// flowEntryHeldBy checks that status shows the device's flow once, under replica.
func flowEntryHeldBy(tn *tenant, replica string) error {
	ext := &sipv1.Extension{}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tn.ext), ext); err != nil {
		return err
	}
	var holders []string
	for _, b := range ext.Status.Bindings {
		if b.Instance == testInstance {
			holders = append(holders, b.Registrar)
		}
	}
	if len(holders) != 1 || holders[0] != replica {
		return fmt.Errorf("status shows the flow under %v, want [%s]", holders, replica)
	}
	return nil
}

// dropsFlow waits until replica no longer holds a flow of the device.
func dropsFlow(t *testing.T, r *registrar.Replica, tn *tenant) {
	t.Helper()
	eventually(t, "the old replica drops the moved flow", func() error {
		for _, b := range r.Table().Lookup(tn.aor(), time.Now()) {
			if b.Outbound() {
				return fmt.Errorf("it still holds the flow from %s", b.Source)
			}
		}
		return nil
	})
}

// messageReaches sends MESSAGEs to the AOR through via until one reaches device
// and its 200 OK comes back to the caller: one sent before the replica saw a
// connection close may go down it and wait out its transaction.
func messageReaches(t *testing.T, via *registrar.Replica, tn *tenant, device *siptest.Phone) {
	t.Helper()
	eventually(t, "a MESSAGE reaches the device", func() error {
		caller := newCaller(t, via)
		caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
		if m, err := device.NextRequest(2 * time.Second); err == nil {
			device.Reply(m, sip.StatusOK, "OK")
		}
		res, err := caller.TryFinal(5 * time.Second)
		if err != nil {
			return err
		}
		if res.StatusCode != sip.StatusOK {
			return fmt.Errorf("the caller got %d %s", res.StatusCode, res.Reason)
		}
		return nil
	})
}

// A device whose flow moved from replica A to B is reached through A (relayed
// to B), not answered 430 from A's dead flow; A drops that flow.
func TestMovedFlowIsReachedThroughTheOldReplica(t *testing.T) {
	for _, sameCallID := range []bool{false, true} {
		t.Run(fmt.Sprintf("sameCallID=%v", sameCallID), func(t *testing.T) {
			tn := newTenant(t, "1001")
			cur := moveFlow(t, tn, 600, sameCallID)
			messageReaches(t, replicaA, tn, cur)
			dropsFlow(t, replicaA, tn)
		})
	}
}

// After the move replica A writes the extension again (a second device
// registers there, maybe before A saw the move), and later the flow it held
// expires: status ends with the flow, once, under replica B, and keeps it there.
func TestMovedFlowStaysUnderTheNewReplica(t *testing.T) {
	tn := newTenant(t, "1001", func(d *sipv1.Domain) { d.Spec.Registration.MinExpires = 5 })
	const oldExpires = 10 * time.Second
	registered := time.Now()
	cur := moveFlow(t, tn, int(oldExpires/time.Second), false)
	newDevice(t, tn, replicaA, false)
	bindingsAre(t, tn, 2)
	flowHeldBy(t, tn, "replica-b")
	eventually(t, "status keeps the flow under replica-b past the old flow's expiry", func() error {
		if time.Since(registered) < oldExpires+2*time.Second {
			return errors.New("the flow replica A held has not expired yet")
		}
		bindingsAre(t, tn, 2)
		return flowEntryHeldBy(tn, "replica-b")
	})
	dropsFlow(t, replicaA, tn)
	messageReaches(t, replicaA, tn, cur)
}

// A device with two flows (reg-id 1 and 2) at replica A loses one: a request,
// arriving at A or relayed by B, goes over the other (RFC 5626 §5.3).
func TestFlowOtherIsUsedWhenOneFailed(t *testing.T) {
	for _, tc := range []struct {
		failed int
		via    **registrar.Replica
		name   string
	}{
		{1, &replicaA, "first failed, at A"},
		{2, &replicaA, "second failed, at A"},
		{1, &replicaB, "first failed, relayed by B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t, "1001")
			_, tcpA := replicaA.Addresses()
			flows := map[int]*siptest.Phone{1: flowPhone(t, tn, tcpA, 1), 2: flowPhone(t, tn, tcpA, 2)}
			flows[1].MustRegister(600)
			flows[2].MustRegister(600)
			routable(t, *tc.via, tn, 1)
			flows[tc.failed].Close()
			messageReaches(t, *tc.via, tn, flows[3-tc.failed])
		})
	}
}
