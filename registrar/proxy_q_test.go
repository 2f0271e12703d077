package registrar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// qDevices registers two devices of the tenant's user with replica A: the one
// registered first with q=0.5, the other with q=1.0, so that the order of
// registration does not make the order of the search. Both replicas route to
// both: replica B learns their q from the Extension status.
func qDevices(t *testing.T, tn *tenant) (preferred, fallback *siptest.Phone) {
	t.Helper()
	return qDevicesOn(t, tn, replicaA, replicaB)
}

// qDevicesOn is qDevices registering with holder, and waiting until each of also
// routes to both devices.
func qDevicesOn(t *testing.T, tn *tenant, holder *registrar.Replica, also ...*registrar.Replica) (preferred, fallback *siptest.Phone) {
	t.Helper()
	udp, _ := holder.Addresses()
	fallback = udpPhone(t, tn, "127.0.0.1", udp)
	fallback.Contact = fmt.Sprintf("<sip:%s@%s>;q=0.5", tn.user, fallback.LocalAddr())
	fallback.MustRegister(600)
	preferred = udpPhone(t, tn, "127.0.0.1", udp)
	preferred.Contact = fmt.Sprintf("<sip:%s@%s>;q=1.0", tn.user, preferred.LocalAddr())
	preferred.MustRegister(600)
	for _, r := range append([]*registrar.Replica{holder}, also...) {
		routable(t, r, tn, 2)
	}
	return preferred, fallback
}

// nothingFor fails the test when the phone has received a message: what
// arrived before the exchange the caller just completed is already queued.
func nothingFor(t *testing.T, p *siptest.Phone, when string) {
	t.Helper()
	if m, err := p.Next(10 * time.Millisecond); err == nil {
		t.Fatalf("%s, the q=0.5 device got:\n%s", when, m.Raw)
	}
}

// RFC 3261 §16.6: the proxy tries the bindings in order of q. The q=1.0 device
// rings first, alone; only once it answered 486 does the q=0.5 device get the
// INVITE, and its answer is the caller's. The call forks alike whichever replica
// receives it: the one that holds the bindings, or another that reads them, q
// and all, from the Extension status.
func TestProxyTriesLowerQOnlyAfterHigherQFailed(t *testing.T) {
	for name, via := range map[string]**registrar.Replica{"holder": &replicaA, "other replica": &replicaB} {
		t.Run(name, func(t *testing.T) { triesLowerQOnlyAfterHigherQFailed(t, *via) })
	}
}

func triesLowerQOnlyAfterHigherQFailed(t *testing.T, via *registrar.Replica) {
	tn := newTenant(t, "1001")
	preferred, fallback := qDevices(t, tn)
	caller := newCaller(t, via)
	caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))

	inv := preferred.Expect(sip.INVITE)
	preferred.Answer(inv, sip.StatusRinging, "Ringing")
	for ringing := false; !ringing; {
		m, err := caller.Next(5 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the 180 at the caller: %v", err)
		}
		res, ok := m.Message.(*sip.Response)
		if !ok || res.StatusCode >= 200 {
			t.Fatalf("waiting for the 180, the caller got:\n%s", m.Raw)
		}
		ringing = res.StatusCode == sip.StatusRinging
	}
	// By the 180's round trip, an INVITE forked in parallel would be there.
	nothingFor(t, fallback, "while the q=1.0 device rang")

	preferred.Answer(inv, sip.StatusBusyHere, "Busy Here")
	second := fallback.Expect(sip.INVITE)
	fallback.Answer(second, sip.StatusOK, "OK")
	res := caller.Final(5 * time.Second)
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want the q=0.5 device's 200", res.StatusCode, res.Reason)
	}
	caller.Send(caller.AckOf(res))
	fallback.Expect(sip.ACK, second)
}

// When the q=1.0 device answers, the q=0.5 device never gets the INVITE, through
// either replica.
func TestProxyDoesNotTryLowerQAfterAnAnswer(t *testing.T) {
	for name, via := range map[string]**registrar.Replica{"holder": &replicaA, "other replica": &replicaB} {
		t.Run(name, func(t *testing.T) { doesNotTryLowerQAfterAnAnswer(t, *via) })
	}
}

func doesNotTryLowerQAfterAnAnswer(t *testing.T, via *registrar.Replica) {
	tn := newTenant(t, "1001")
	preferred, fallback := qDevices(t, tn)
	caller := newCaller(t, via)
	caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))

	inv := preferred.Expect(sip.INVITE)
	preferred.Answer(inv, sip.StatusOK, "OK")
	res := caller.Final(5 * time.Second)
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want 200", res.StatusCode, res.Reason)
	}
	caller.Send(caller.AckOf(res))
	preferred.Expect(sip.ACK, inv)
	// The whole call went through the proxy meanwhile: a parallel INVITE (and its
	// CANCEL) would have reached the other device long since.
	nothingFor(t, fallback, "after the q=1.0 device answered")
}

// A preferred device that rings and is not picked up does not hold the call: once
// the serial-fork timeout (--serial-fork-timeout, here one second) passed, the
// registrar CANCELs it and calls the q=0.5 device, whose answer is the caller's.
// A preferred device that does not even ring is given up alike.
func TestProxyTriesLowerQOnceHigherQRangPastTheSerialForkTimeout(t *testing.T) {
	first := newTenant(t, "1001")
	r := startExtraReplica(t, "replica-serial-fork", "127.0.0.81", first, func(c *registrar.Config) { c.SerialForkTimeout = time.Second })
	t.Run("ringing", func(t *testing.T) {
		tn := first
		preferred, fallback := qDevicesOn(t, tn, r)
		caller := newCaller(t, r)
		caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))
		inv := preferred.Expect(sip.INVITE)
		preferred.Answer(inv, sip.StatusRinging, "Ringing")

		cancel := preferred.Expect(sip.CANCEL, inv)
		// Only now: an INVITE forked in parallel would have come with the first.
		nothingFor(t, fallback, "before the q=1.0 device was cancelled")
		preferred.Reply(cancel, sip.StatusOK, "OK")
		preferred.Answer(inv, sip.StatusRequestTerminated, "Request Terminated")
		answersFallback(t, caller, fallback, sip.StatusOK)
	})
	t.Run("silent", func(t *testing.T) {
		tn := newTenant(t, "1001")
		eventually(t, "the replica knows "+tn.aor(), func() error {
			if !r.Knows(tn.aor()) {
				return errStill
			}
			return nil
		})
		_, fallback := qDevicesOn(t, tn, r)
		caller := newCaller(t, r)
		caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))
		// The q=1.0 device never answers, not even 100 Trying.
		answersFallback(t, caller, fallback, sip.StatusOK)
	})
}

// answersFallback has fallback answer the INVITE it gets with code, and checks that
// the caller's final response is that answer, acknowledged end to end.
func answersFallback(t *testing.T, caller, fallback *siptest.Phone, code int) {
	t.Helper()
	inv := fallback.Expect(sip.INVITE)
	fallback.Answer(inv, code, "OK")
	res := caller.Final(10 * time.Second)
	if res.StatusCode != code {
		t.Fatalf("the caller got %d %s, want the q=0.5 device's %d", res.StatusCode, res.Reason, code)
	}
	caller.Send(caller.AckOf(res))
	fallback.Expect(sip.ACK, inv)
}
