package registrar_test

import (
	"net"
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
	edge := newEdgeProxy(t)
	udp, _ := replicaA.Addresses()
	edge.register(tn, udp)
	routable(t, replicaA, tn, 1)

	caller := newRawCaller(t, replicaA)
	caller.send(caller.invite("sip:"+tn.aor(), 70, ""))
	inv := edge.next(sip.INVITE, 5*time.Second)
	ok := sip.NewResponseFromRequest(inv, sip.StatusOK, "OK", nil)
	var contact sip.Uri
	if err := sip.ParseUri(edgeContact(tn), &contact); err != nil {
		t.Fatal(err)
	}
	ok.AppendHeader(&sip.ContactHeader{Address: contact})
	to, err := net.ResolveUDPAddr("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := edge.conn.WriteTo([]byte(ok.String()), to); err != nil {
		t.Fatal(err)
	}
	res := caller.final(5 * time.Second)
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want 200", res.StatusCode, res.Reason)
	}
	caller.send(caller.ackOf(res))
	ack := edge.next(sip.ACK, 5*time.Second)
	if rt := ack.Route(); rt == nil || rt.Address.String() != edge.pathURI() {
		t.Errorf("the ACK's Route = %v, want the Path %s", rt, edge.pathURI())
	}
	if ack.Recipient.String() != edgeContact(tn) {
		t.Errorf("the ACK's Request-URI = %s, want the Contact %s", ack.Recipient.String(), edgeContact(tn))
	}
}

// next returns the next request of method the edge proxy receives, passing over
// retransmissions of others.
func (e *edgeProxy) next(method sip.RequestMethod, within time.Duration) *sip.Request {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if req, ok := e.read(time.Until(deadline)).(*sip.Request); ok && req.Method == method {
			return req
		}
	}
}
