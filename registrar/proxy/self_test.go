package proxy

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// behindService is a replica at pod IP 10.0.0.1 whose fleet phones reach at
// sip.example.com (its Service).
func behindService() *Self {
	return &Self{Host: "10.0.0.1", RecordRouteHost: "sip.example.com", UDPPort: 5060, TCPPort: 5060, TLSPort: 5061}
}

// Record-Route names the fleet's address, with the port of each transport, while
// Via keeps the pod's: responses must come back to the replica that holds the
// transaction, in-dialog requests may go to any.
func TestSelfRecordRouteNamesTheRecordRouteHost(t *testing.T) {
	s := behindService()
	for _, tc := range []struct {
		transport, want string
	}{
		{"UDP", "<sip:sip.example.com:5060;transport=udp;lr>"},
		{"TCP", "<sip:sip.example.com:5060;transport=tcp;lr>"},
		{"TLS", "<sip:sip.example.com:5061;transport=tls;lr>"},
	} {
		if got := s.RecordRoute(tc.transport).Value(); got != tc.want {
			t.Errorf("Record-Route over %s = %s, want %s", tc.transport, got, tc.want)
		}
		if v := s.Via(tc.transport, "z9hG4bK-x"); v.Host != "10.0.0.1" {
			t.Errorf("Via over %s names %s, want the pod's 10.0.0.1", tc.transport, v.Host)
		}
	}
	if got := s.FlowRoute(); got != "sip:10.0.0.1:5060;transport=tcp;lr;ob" {
		t.Errorf("FlowRoute = %s, want the pod's address: other replicas reach this one there", got)
	}

	s.RecordRouteHost = ""
	if got := s.RecordRoute("UDP").Value(); got != "<sip:10.0.0.1:5060;transport=udp;lr>" {
		t.Errorf("without a record-route host, Record-Route = %s, want the advertised host", got)
	}

	v6 := &Self{Host: "fd00::1", RecordRouteHost: "[2001:db8::1]", UDPPort: 5060}
	if got := v6.RecordRoute("UDP").Value(); got != "<sip:[2001:db8::1]:5060;transport=udp;lr>" {
		t.Errorf("IPv6 Record-Route = %s", got)
	}
}

// A Route naming the fleet's address with one of our ports is ours, whichever
// replica record-routed: several sit behind that address.
func TestSelfOursRecognisesTheRecordRouteHost(t *testing.T) {
	s := behindService()
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"sip.example.com", 5060, true},
		{"SIP.Example.COM", 5061, true},
		{"sip.example.com", 0, true},
		{"sip.example.com", 5070, false},
		{"other.example.com", 5060, false},
		{"10.0.0.1", 5060, true},
		{"", 5060, false},
	} {
		if got := s.Ours(tc.host, tc.port); got != tc.want {
			t.Errorf("Ours(%q, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
	}
	if (&Self{Host: "10.0.0.1", UDPPort: 5060}).Ours("", 5060) {
		t.Error("without a record-route host, an empty host is ours")
	}
	v6 := &Self{Host: "fd00::1", RecordRouteHost: "2001:db8::1", UDPPort: 5060}
	if !v6.Ours("[2001:DB8::1]", 5060) {
		t.Error("the IPv6 record-route host in brackets is not ours")
	}
}

// The route set a phone outside the cluster sends its BYE along, our two entries
// on top (RFC 5658: the call crossed UDP and TLS), is popped by any replica of the
// fleet down to the next hop's Route.
func TestPopOwnRoutesPopsTheRecordRouteHost(t *testing.T) {
	other := &Self{Host: "10.0.0.2", RecordRouteHost: "sip.example.com", UDPPort: 5060, TCPPort: 5060, TLSPort: 5061}
	p := New(Config{Self: other})
	req := parse(t, "BYE sip:1001@192.0.2.1:5062 SIP/2.0\n"+
		"Route: <sip:sip.example.com:5061;transport=tls;lr>\n"+
		"Route: <sip:sip.example.com:5060;transport=udp;lr>\n"+
		"Route: <sip:edge.example:5070;lr>\n"+
		"Via: SIP/2.0/TLS 198.51.100.7:5061;branch=z9hG4bK-caller\nFrom: <sip:a@example.org>;tag=a1\n"+
		"To: <sip:1001@acme.example>;tag=b1\nCall-ID: c1\nCSeq: 2 BYE\nContent-Length: 0\n\n")
	if !p.popOwnRoutes(req) {
		t.Fatal("no Route of ours popped")
	}
	if rt := req.Route(); rt == nil || rt.Address.Host != "edge.example" {
		t.Errorf("top Route after popping ours = %v, want the edge's", rt)
	}
}

// The record-route host is an IP address or a DNS name; a port, a scheme or a
// parameter would be written nowhere, and is refused.
func TestCheckRecordRouteHost(t *testing.T) {
	for _, host := range []string{"", "sip.example.com", "203.0.113.10", "2001:db8::1", "[2001:db8::1]", "lb-1.eu-west.example"} {
		if err := CheckRecordRouteHost(host); err != nil {
			t.Errorf("%q: %v", host, err)
		}
	}
	for _, host := range []string{"sip.example.com:5060", "203.0.113.10:5060", "sip:sip.example.com", "sip.example.com;lr",
		"[203.0.113.10]", "-bad.example", "a b"} {
		if err := CheckRecordRouteHost(host); err == nil {
			t.Errorf("%q accepted", host)
		}
	}
}

// A forwarded INVITE carries the record-route host in Record-Route and the pod's
// address in Via.
func TestBranchRequestRecordRoutesTheRecordRouteHost(t *testing.T) {
	p := New(Config{Self: behindService()})
	in := parse(t, "INVITE sip:1001@acme.example SIP/2.0\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-caller\nFrom: <sip:a@example.org>;tag=a1\n"+
		"To: <sip:1001@acme.example>\nCall-ID: c1\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n")
	in.SetTransport("UDP")
	h := hop{URI: sip.Uri{Scheme: "sip", User: "1001", Host: "192.0.2.1", Port: 5062}, Dest: "192.0.2.1:5062", Transport: transportUDP}
	out := p.branchRequest(in, h, 69, "0123456789abcdef", true)
	if rr := out.RecordRoute(); rr == nil || rr.Value() != "<sip:sip.example.com:5060;transport=udp;lr>" {
		t.Errorf("Record-Route = %v, want the record-route host's", rr)
	}
	if v := out.Via(); v == nil || v.Host != "10.0.0.1" || v.Port != 5060 {
		t.Errorf("top Via = %v, want the pod's 10.0.0.1:5060", v)
	}
}

// Our Via over UDP asks for rport (RFC 3581), so that a next hop that sees the
// request come from elsewhere than our sent-by (kube-proxy's address and port)
// answers to where it came from; over a stream the answer comes back on the
// connection, and the Via stays as it was.
func TestSelfViaAsksForRportOverUDPOnly(t *testing.T) {
	s := behindService()
	s.WSPort = 8080
	for _, tc := range []struct{ transport, want string }{
		{"UDP", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x;rport"},
		{"udp", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x;rport"},
		{"TCP", "SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-x"},
		{"TLS", "SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK-x"},
		{"WS", "SIP/2.0/WS 10.0.0.1:8080;branch=z9hG4bK-x"},
	} {
		if got := s.Via(tc.transport, "z9hG4bK-x").Value(); got != tc.want {
			t.Errorf("Via over %s = %s, want %s", tc.transport, got, tc.want)
		}
	}
}

// A forwarded request's rport goes with it into its CANCEL (the same top Via, RFC
// 3261 §9.1), and the answer of a next hop that filled it in (rport=, received=)
// still matches the branch's client transaction and still reads as our Via.
func TestRportInOurViaKeepsTheBranchRecognisable(t *testing.T) {
	p := New(Config{Self: behindService()})
	in := parse(t, "INVITE sip:1001@acme.example SIP/2.0\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-caller\nFrom: <sip:a@example.org>;tag=a1\n"+
		"To: <sip:1001@acme.example>\nCall-ID: c1\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n")
	hash := LoopHash(in)
	h := hop{URI: sip.Uri{Scheme: "sip", User: "1001", Host: "192.0.2.1", Port: 5062}, Dest: "192.0.2.1:5062", Transport: transportUDP}
	out := p.branchRequest(in, h, 69, hash, true)
	if v, ok := out.Via().Params.Get("rport"); !ok || v != "" {
		t.Fatalf("top Via %s, want a bare rport", out.Via().Value())
	}
	if v, ok := cancelFor(out).Via().Params.Get("rport"); !ok || v != "" {
		t.Errorf("the CANCEL's Via %s, want the INVITE's, rport and all", cancelFor(out).Via().Value())
	}

	res := sip.NewResponseFromRequest(out, sip.StatusOK, "OK", nil)
	via := res.Via()
	via.Params.Add("rport", "40112")
	via.Params.Add("received", "203.0.113.9")
	want, err := sip.ClientTxKeyMake(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sip.ClientTxKeyMake(res); err != nil || got != want {
		t.Errorf("the answer's transaction key = %q (%v), want the request's %q", got, err, want)
	}
	// Loop detection still finds our branch in it.
	if !IsLoop(out, hash, p.self.Ours) {
		t.Error("our Via with rport is not recognised as ours")
	}
}
