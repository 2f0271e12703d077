package registrar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A REGISTER that came through an edge proxy stores its Path with the binding
// (and echoes it to a device that supports path); a request to the device goes
// through the edge proxy, with the Path as its Route and the Contact as its
// Request-URI, although the Contact itself is unreachable.
func TestPathRoutesThroughEdgeProxy(t *testing.T) {
	tn := newTenant(t, "1001")
	udp, _ := replicaA.Addresses()
	// A small UDP edge proxy (RFC 3327): it sends the device's REGISTER with its own
	// Path, then receives the requests the registrar routes through it and answers
	// them for the device behind it.
	edge := udpPhone(t, tn, "127.0.0.1", udp)
	pathURI := "sip:" + edge.LocalAddr().String() + ";lr"
	contact := "sip:" + tn.user + "@192.0.2.99:5060" // TEST-NET: nothing answers there
	edge.Contact = "<" + contact + ">"
	edge.Extra = "Path: <" + pathURI + ">\r\nSupported: path\r\n"
	res := edge.MustRegister(600)
	if got := siptest.HeaderValue(res, "Path"); !strings.Contains(got, pathURI) {
		t.Errorf("200 OK Path = %q, want the edge's %s", got, pathURI)
	}
	if b := bindingsAre(t, tn, 1)[0]; !strings.Contains(b.Path, pathURI) {
		t.Errorf("status binding's path = %q, want the edge's", b.Path)
	}

	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
	req := edge.Expect(sip.MESSAGE)
	if rt := req.Route(); rt == nil || rt.Address.String() != pathURI {
		t.Errorf("Route = %v, want the Path %s", rt, pathURI)
	}
	if req.Recipient.String() != contact {
		t.Errorf("Request-URI = %s, want the Contact %s", req.Recipient.String(), contact)
	}
	edge.Reply(req, sip.StatusOK, "OK")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
}
