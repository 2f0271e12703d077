package registrar_test

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// Behind kube-proxy a phone sees the registrar's requests come from the Service's
// address and port, not from the pod address and port our Via names. A phone that
// answers as RFC 3261 §18.2.2 and RFC 3581 have it (to the address the request
// came from, at its source port only when the Via asks for rport) reaches the
// registrar because our Via over UDP asks for rport: without it the answer goes to
// the Via's port at the NAT's address, where nothing listens, and the call is never
// answered. The same holds for the BYE the registrar forwards in the dialog.
func TestProxyViaAsksForRportSoAnswersCrossANAT(t *testing.T) {
	tn := newTenant(t, "1001")
	nat := siptest.NewNAT(t, "127.0.0.92", addressOf(replicaA))
	callee := udpPhone(t, tn, "127.0.0.1", nat.Outer())
	callee.MustRegister(600)
	if b := bindingsAre(t, tn, 1)[0]; b.Source != nat.Inner() {
		t.Fatalf("the binding's source is %s, want the NAT's inner address %s", b.Source, nat.Inner())
	}
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)

	caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))
	inv := callee.Expect(sip.INVITE)
	if inv.From.String() != nat.Outer() {
		t.Fatalf("the INVITE came from %s, not through the NAT (%s)", inv.From, nat.Outer())
	}
	if v, ok := inv.Via().Params.Get("rport"); !ok || v != "" {
		t.Errorf("the INVITE's top Via %s has no bare rport", inv.Via().Value())
	}
	to := callee.AnswerByVia(inv, sip.StatusOK, "OK")
	ok, err := caller.TryFinal(wait)
	if err != nil {
		t.Fatalf("the callee's 200, sent by the Via to %s, did not reach the caller: %v", to, err)
	}
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want the callee's 200", ok.StatusCode, ok.Reason)
	}
	caller.Send(caller.AckOf(ok))
	callee.Expect(sip.ACK, inv)

	caller.Send(caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
	bye := callee.Expect(sip.BYE, inv)
	to = callee.AnswerByVia(bye, sip.StatusOK, "OK")
	if res, err := caller.TryFinal(wait); err != nil || res.StatusCode != sip.StatusOK {
		t.Errorf("the callee's 200 to the BYE, sent by the Via to %s: %v %v", to, res, err)
	}
}
