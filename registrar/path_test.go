package registrar_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// edgeProxy is a small UDP edge proxy (RFC 3327): it sends a device's REGISTER
// with its own Path, then records the requests the registrar routes through it
// and answers them 200 OK for the device behind it.
type edgeProxy struct {
	t    *testing.T
	conn net.PacketConn
}

func newEdgeProxy(t *testing.T) *edgeProxy {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &edgeProxy{t: t, conn: c}
}

func (e *edgeProxy) pathURI() string { return "sip:" + e.conn.LocalAddr().String() + ";lr" }

// roundTrip sends text to the registrar at to and returns its answer.
func (e *edgeProxy) roundTrip(to, text string) *sip.Response {
	e.t.Helper()
	addr, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.conn.WriteTo([]byte(text), addr); err != nil {
		e.t.Fatal(err)
	}
	msg := e.read(5 * time.Second)
	res, ok := msg.(*sip.Response)
	if !ok {
		e.t.Fatal("a request instead of the REGISTER's answer")
	}
	return res
}

func (e *edgeProxy) read(within time.Duration) sip.Message {
	e.t.Helper()
	buf := make([]byte, 65535)
	_ = e.conn.SetReadDeadline(time.Now().Add(within))
	n, _, err := e.conn.ReadFrom(buf)
	if err != nil {
		e.t.Fatalf("the edge proxy received nothing: %v", err)
	}
	msg, err := sip.ParseMessage(buf[:n])
	if err != nil {
		e.t.Fatal(err)
	}
	return msg
}

// edgeContact is the Contact of tn's device behind the edge proxy: TEST-NET, where
// nothing answers.
func edgeContact(tn *tenant) string { return "sip:" + tn.user + "@192.0.2.99:5060" }

// register registers tn's device behind the edge proxy with the registrar at udp,
// with the edge's Path, and returns the 200 OK.
func (e *edgeProxy) register(tn *tenant, udp string) *sip.Response {
	e.t.Helper()
	contact := "<" + edgeContact(tn) + ">"
	extra := "Path: <" + e.pathURI() + ">\r\nSupported: path\r\n"
	callID := fmt.Sprintf("path-%d@edge", time.Now().UnixNano())
	local := e.conn.LocalAddr().String()
	res := e.roundTrip(udp, registerText(tn, "UDP", local, callID, 1, contact, extra, ""))
	nonce, err := challengeNonce(res)
	if err != nil {
		e.t.Fatal(err)
	}
	auth := (&udpPhone{user: tn.user, domain: tn.domain, password: tn.password}).answer(nonce, 1)
	res = e.roundTrip(udp, registerText(tn, "UDP", local, callID, 2, contact, extra, auth))
	if res.StatusCode != sip.StatusOK {
		e.t.Fatalf("REGISTER through the edge: %d %s", res.StatusCode, res.Reason)
	}
	return res
}

// A REGISTER that came through an edge proxy stores its Path with the binding
// (and echoes it to a device that supports path); a request to the device goes
// through the edge proxy, with the Path as its Route and the Contact as its
// Request-URI, although the Contact itself is unreachable.
func TestPathRoutesThroughEdgeProxy(t *testing.T) {
	tn := newTenant(t, "1001")
	edge := newEdgeProxy(t)
	udp, _ := replicaA.Addresses()
	res := edge.register(tn, udp)
	if got := headerValue(res, "Path"); !strings.Contains(got, edge.pathURI()) {
		t.Errorf("200 OK Path = %q, want the edge's %s", got, edge.pathURI())
	}
	if b := bindingsAre(t, tn, 1)[0]; !strings.Contains(b.Path, edge.pathURI()) {
		t.Errorf("status binding's path = %q, want the edge's", b.Path)
	}

	caller := newRawCaller(t, replicaA)
	caller.send(caller.message("sip:" + tn.aor()))
	req, ok := edge.read(5 * time.Second).(*sip.Request)
	if !ok || req.Method != sip.MESSAGE {
		t.Fatalf("the edge proxy got %v, want the MESSAGE", req)
	}
	if rt := req.Route(); rt == nil || rt.Address.String() != edge.pathURI() {
		t.Errorf("Route = %v, want the Path %s", rt, edge.pathURI())
	}
	if req.Recipient.String() != edgeContact(tn) {
		t.Errorf("Request-URI = %s, want the Contact %s", req.Recipient.String(), edgeContact(tn))
	}
	ok200 := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	to, _ := net.ResolveUDPAddr("udp", udp)
	if _, err := edge.conn.WriteTo([]byte(ok200.String()), to); err != nil {
		t.Fatal(err)
	}
	if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
}
