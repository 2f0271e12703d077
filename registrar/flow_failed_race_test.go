package registrar_test

import (
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// The race a relayed request runs: replica B reads the callee's targets (its
// table and the Extension status, which names replica A as the holder of the
// device's connection), and by the time it relays the request to A the binding
// has left A: the device reconnected to B, or is gone. A answers 430 Flow
// Failed. B, the authoritative proxy, reads the targets again and tries the
// device's new binding; a caller never gets 430 (RFC 5626 §5.3, §11.5).
//
// The race is made wide and deterministic with q (RFC 3261 §16.6): a q=1.0
// device at B holds the request while the q=0.5 device moves, so B read its
// targets before the move and relays to A after it. "The binding has left A" is
// staged through A's table: A would drop it itself once it saw the move.

// tcpDeviceAt registers tn's device at replica r over a TCP connection, with
// q=0.5: a desk phone behind a NAT (no outbound), or an RFC 5626 flow.
func tcpDeviceAt(t *testing.T, tn *tenant, r *registrar.Replica, outbound bool) *siptest.Phone {
	t.Helper()
	_, tcp := r.Addresses()
	var p *siptest.Phone
	if outbound {
		p = flowPhone(t, tn, tcp, 1)
	} else {
		p = siptest.NewTCP(t, tcp, tn.account())
		p.Contact = natContact(tn, "tcp")
	}
	p.Contact += ";q=0.5"
	p.MustRegister(600)
	return p
}

// raceSetUp registers, for a new tenant, a q=1.0 device at replica B (over UDP)
// and the q=0.5 device at replica A over TCP, and has a caller send a MESSAGE
// through B, which B forks to the q=1.0 device first. It returns the tenant,
// the caller, the q=1.0 device with the MESSAGE it holds, and the q=0.5 one.
func raceSetUp(t *testing.T, outbound bool) (tn *tenant, caller, preferred *siptest.Phone, held siptest.Received, moving *siptest.Phone) {
	t.Helper()
	tn = newTenant(t, "1001")
	udpB, _ := replicaB.Addresses()
	preferred = udpPhone(t, tn, "127.0.0.1", udpB)
	preferred.Contact = fmt.Sprintf("<sip:%s@%s>;q=1.0", tn.user, preferred.LocalAddr())
	preferred.MustRegister(600)
	moving = tcpDeviceAt(t, tn, replicaA, outbound)
	routable(t, replicaB, tn, 2) // B relays to A for the q=0.5 device
	caller = newCaller(t, replicaB)
	caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
	held, err := preferred.NextRequest(wait)
	if err != nil || held.Method != sip.MESSAGE {
		t.Fatalf("the q=1.0 device did not get the MESSAGE: %v", err)
	}
	return tn, caller, preferred, held, moving
}

// leaveA has the device's binding leave replica A: its connection closes, and
// A's table no longer holds it, so that A answers the relayed request 430.
func leaveA(tn *tenant, moving *siptest.Phone) {
	moving.Close()
	replicaA.Table().Remove(tn.aor())
}

// The device reconnects to B while B's request is on its way to A: the
// request reaches it at B, not 430.
func TestRelayedFlowFailedReachesTheDevicesNewBinding(t *testing.T) {
	for _, outbound := range []bool{false, true} {
		t.Run(fmt.Sprintf("outbound=%v", outbound), func(t *testing.T) {
			tn, caller, preferred, held, moving := raceSetUp(t, outbound)
			moved := tcpDeviceAt(t, tn, replicaB, outbound) // in B's table once registered
			leaveA(tn, moving)
			preferred.Reply(held, sip.StatusBusyHere, "Busy Here")
			if _, err := receiveOK(moved, wait); err != nil {
				res, _ := caller.TryFinal(wait)
				t.Fatalf("the MESSAGE did not reach the device's new binding at B: %v (the caller got %v)", err, statusOf(res))
			}
			if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
				t.Errorf("the caller got %d %s, want the device's 200", res.StatusCode, res.Reason)
			}
		})
	}
}

// The device is gone: the caller gets 480, not the 430 A answered B. The
// q=1.0 device answers 503, which counts no more than a failed flow (both say
// nothing of a device), so the answer the caller gets is the failed flow's.
func TestRelayedFlowFailedWithTheDeviceGoneIs480(t *testing.T) {
	tn, caller, preferred, held, moving := raceSetUp(t, false)
	leaveA(tn, moving)
	preferred.Reply(held, sip.StatusServiceUnavailable, "Service Unavailable")
	res := caller.Final(wait)
	if res.StatusCode != sip.StatusTemporarilyUnavailable {
		t.Errorf("the caller got %d %s, want 480", res.StatusCode, res.Reason)
	}
}

// statusOf is a final response's status line, or "nothing".
func statusOf(res *sip.Response) string {
	if res == nil {
		return "nothing"
	}
	return fmt.Sprintf("%d %s", res.StatusCode, res.Reason)
}
