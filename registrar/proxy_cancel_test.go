package registrar_test

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// The caller hangs up while two devices ring: both get a CANCEL carrying the
// branch of the INVITE they got and answer 487; the caller gets 200 for its CANCEL
// and 487 for its INVITE. Each 487 is ACKed hop by hop: the devices check that
// their ACK is the registrar's own, not a relay of the caller's (RFC 3261 §16.10,
// §17.1.1.3).
func TestProxyCallerCancelStopsEveryDevice(t *testing.T) {
	tn := newTenant(t, "1001")
	id := callID(t)
	first := tn.phone(t, replicaA, "uas-ring-cancel-hop.xml", id, 0)
	second := tn.phone(t, replicaA, "uas-ring-cancel-hop.xml", id, 0)
	routable(t, replicaA, tn, 2)
	if err := tn.caller(t, replicaA, "uac-cancel.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*sippProc{first, second} {
		if err := p.wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// A device answers 200 just as the caller's CANCEL reaches it: the registrar
// already answered the caller 487 (sipgo does, on CANCEL), and forwards the 200
// all the same (RFC 3261 §16.7 step 5: every 2xx goes upstream). The caller ACKs
// it and hangs up with BYE along the Record-Route; both reach the device.
func TestProxyForwardsA2xxThatCrossedTheCancel(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := tn.caller(t, replicaA, "uac-cancel-late-answer.xml", callID(t), "1001")

	inv := dev.Expect(sip.INVITE)
	dev.Answer(inv, sip.StatusRinging, "Ringing")
	cancel := dev.Expect(sip.CANCEL, inv)
	if siptest.Branch(cancel.Request) != siptest.Branch(inv.Request) {
		t.Errorf("CANCEL branch %q, want the INVITE's %q", siptest.Branch(cancel.Request), siptest.Branch(inv.Request))
	}
	dev.Answer(cancel, sip.StatusOK, "OK")
	dev.Answer(inv, sip.StatusOK, "OK")
	// The caller sends its ACK and then its BYE at once; the registrar relays each in
	// a goroutine of its own and UDP keeps no order, so either may come first.
	got := dev.ExpectEach([]sip.RequestMethod{sip.ACK, sip.BYE}, inv, cancel)
	ack, bye := got[sip.ACK], got[sip.BYE]
	if ack.CSeq().SeqNo != inv.CSeq().SeqNo || siptest.Branch(ack.Request) == siptest.Branch(inv.Request) {
		t.Errorf("ACK CSeq %d branch %q: want the caller's ACK of the 2xx (CSeq %d, a branch of its own)",
			ack.CSeq().SeqNo, siptest.Branch(ack.Request), inv.CSeq().SeqNo)
	}
	dev.Answer(bye, sip.StatusOK, "OK")
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
}
