package registrar_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The ACK of a call to a device behind an edge proxy that does not record-route
// goes, as the INVITE did, through the edge with the Path as its Route: the edge
// finds the device's flow from that route (RFC 5626 edge proxies put their flow
// token there), not from the Contact.
func TestPathCarriesTheACKOfACall(t *testing.T) {
	tn := newTenant(t, "1001")
	udp, _ := replicaA.Addresses()
	edge := edgeProxy(t, tn, udp)
	edge.MustRegister(600)
	routable(t, replicaA, tn, 1)

	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))
	inv := edge.Expect(sip.INVITE)
	edge.Answer(inv, sip.StatusOK, "OK")
	res := caller.Final(5 * time.Second)
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want 200", res.StatusCode, res.Reason)
	}
	caller.Send(caller.AckOf(res))
	ack := edge.Expect(sip.ACK, inv)
	if rt := ack.Route(); rt == nil || rt.Address.String() != pathOf(edge) {
		t.Errorf("the ACK's Route = %v, want the Path %s", rt, pathOf(edge))
	}
	if ack.Recipient.String() != edgeContact(tn) {
		t.Errorf("the ACK's Request-URI = %s, want the Contact %s", ack.Recipient.String(), edgeContact(tn))
	}
}
