package proxy

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// With a record-route port for UDP alone (TCP's node port not handed over), our
// Record-Route names the record-route host at UDP's node port over UDP and at the
// listening port over TCP. A Route is ours by the port of its own transport: the
// host's port 5060 over UDP is a node's, not ours, while over TCP it is the port
// our Record-Route named. A Route without a transport parameter is of the
// transport the request arrived over, else UDP for sip:, TLS for sips: (RFC 3261
// §19.1.1, §26.2.2). Our own addresses lead only to us, whatever the transport.
func TestOursURIDecidesPerTransport(t *testing.T) {
	s := behindNodePorts()
	s.RecordRoutePorts = TransportPorts{UDP: 30060}
	for _, tc := range []struct {
		route   string
		arrived string
		want    bool
	}{
		{"sip:nodes.example.com:30060;transport=udp;lr", "", true},
		{"sip:nodes.example.com:5060;transport=udp;lr", "", false},
		{"sip:nodes.example.com:5060;lr", "", false},
		{"sip:nodes.example.com:30060;lr", "", true},
		{"sip:nodes.example.com:5060;transport=tcp;lr", "", true},
		{"sip:nodes.example.com:30060;transport=TCP;lr", "", false},
		{"sip:nodes.example.com:5061;transport=tls;lr", "", true},
		{"sips:nodes.example.com;lr", "", true},
		{"sips:nodes.example.com:5060;transport=tcp;lr", "", false},
		{"sip:nodes.example.com:8080;transport=ws;lr", "", true},
		{"sip:nodes.example.com:8080;transport=wss;lr", "", false},
		{"sip:10.0.0.1:5061;transport=udp;lr", "", true},
		{"sip:10.0.0.1:30060;transport=udp;lr", "", false},
		// Phones that leave the parameter out: the transport they sent over.
		{"sip:nodes.example.com:5061;lr", "TLS", true},
		{"sip:nodes.example.com:5061;lr", "UDP", false},
		{"sip:nodes.example.com:8080;lr", "WS", true},
		{"sip:nodes.example.com:5060;lr", "TCP", true},
		{"sip:nodes.example.com:5060;lr", "UDP", false},
		{"sip:nodes.example.com:30060;lr", "UDP", true},
		{"sip:nodes.example.com:5060;transport=udp;lr", "TCP", false},
	} {
		var u sip.Uri
		if err := sip.ParseUri(tc.route, &u); err != nil {
			t.Fatalf("%s: %v", tc.route, err)
		}
		if got := s.OursURI(&u, tc.arrived); got != tc.want {
			t.Errorf("OursURI(%s) arrived over %q, record-route ports %s = %v, want %v", tc.route, tc.arrived, s.RecordRoutePorts.String(), got, tc.want)
		}
	}
	// What our Record-Route names comes back ours, over every transport we serve.
	for _, transport := range []string{"UDP", "TCP", "TLS", "WS"} {
		if rr := s.RecordRoute(transport); !s.OursURI(&rr.Address, transport) {
			t.Errorf("our Record-Route over %s, %s, is not ours", transport, rr.Value())
		}
	}

	p := New(Config{Self: s})
	for _, tc := range []struct {
		route  string
		popped bool
	}{
		{"<sip:nodes.example.com:5060;transport=udp;lr>", false},
		{"<sip:nodes.example.com:5060;transport=tcp;lr>", true},
	} {
		req := parse(t, "BYE sip:1001@192.0.2.1:5062 SIP/2.0\n"+
			"Route: "+tc.route+"\n"+
			"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-caller\nFrom: <sip:a@example.org>;tag=a1\n"+
			"To: <sip:1001@acme.example>;tag=b1\nCall-ID: c1\nCSeq: 2 BYE\nContent-Length: 0\n\n")
		if got := p.popOwnRoutes(req); got != tc.popped {
			t.Errorf("a BYE with Route %s, record-route ports %s: popped as ours = %v, want %v", tc.route, s.RecordRoutePorts.String(), got, tc.popped)
		}
	}
}
