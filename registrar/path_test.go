package registrar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// edgeProxy is a small UDP edge proxy (RFC 3327) for tn's device behind it: it
// sends the device's REGISTER to the registrar at udp with its own Path, then
// receives the requests the registrar routes through it and answers them for the
// device.
func edgeProxy(t *testing.T, tn *tenant, udp string) *siptest.Phone {
	t.Helper()
	edge := udpPhone(t, tn, "127.0.0.1", udp)
	edge.Contact = "<" + edgeContact(tn) + ">"
	edge.Extra = "Path: <" + pathOf(edge) + ">\r\nSupported: path\r\n"
	return edge
}

// pathOf is the edge proxy's Path.
func pathOf(edge *siptest.Phone) string { return "sip:" + edge.LocalAddr().String() + ";lr" }

// edgeContact is the Contact of tn's device behind the edge proxy: TEST-NET, where
// nothing answers.
func edgeContact(tn *tenant) string { return "sip:" + tn.user + "@192.0.2.99:5060" }

// A REGISTER that came through an edge proxy stores its Path with the binding
// (and echoes it to a device that supports path); a request to the device goes
// through the edge proxy, with the Path as its Route and the Contact as its
// Request-URI, although the Contact itself is unreachable.
func TestPathRoutesThroughEdgeProxy(t *testing.T) {
	tn := newTenant(t, "1001")
	udp, _ := replicaA.Addresses()
	edge := edgeProxy(t, tn, udp)
	pathURI := pathOf(edge)
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
	if req.Recipient.String() != edgeContact(tn) {
		t.Errorf("Request-URI = %s, want the Contact %s", req.Recipient.String(), edgeContact(tn))
	}
	edge.Reply(req, sip.StatusOK, "OK")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
}
