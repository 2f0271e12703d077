package proxy

import (
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// A device whose TCP or TLS connection to this replica is gone (it closed it, or
// the replica restarted and restored the binding from status) is reached by a new
// connection to its Contact, at the transport's default port when the Contact has
// none; over UDP the REGISTER's source stays the destination.
func TestDestinationWithoutTheDevicesConnection(t *testing.T) {
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	client, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Client: client})
	for _, tc := range []struct {
		name            string
		t               Target
		dest, transport string
	}{
		{"TLS: the Contact's port 5061", Target{URI: "sip:1001@198.51.100.9;transport=tls", Source: "203.0.113.5:40001", Transport: "TLS", Local: true}, "198.51.100.9:5061", "TLS"},
		{"sips: the Contact", Target{URI: "sips:1001@198.51.100.9:5071", Source: "203.0.113.5:40001", Transport: "TLS", Local: true}, "198.51.100.9:5071", "TLS"},
		{"TCP: the Contact", Target{URI: "sip:1001@198.51.100.9:5070;transport=tcp", Source: "203.0.113.5:40002", Transport: "TCP", Local: true}, "198.51.100.9:5070", "TCP"},
		{"UDP: still the source", Target{URI: "sip:1001@10.1.1.1:5062", Source: "203.0.113.5:40000", Transport: "UDP", Local: true}, "203.0.113.5:40000", "UDP"},
		// A browser accepts no connection: there is nowhere to go.
		{"WS: nowhere", Target{URI: "sip:x8k2@q1w2.invalid;transport=ws", Source: "203.0.113.5:40003", Transport: "WS", Local: true}, "", "WS"},
		{"WSS: nowhere", Target{URI: "sip:x8k2@q1w2.invalid;transport=ws", Source: "203.0.113.5:40004", Transport: "WSS", Local: true}, "", "WSS"},
		{"WSS on another replica: nowhere", Target{URI: "sip:x8k2@q1w2.invalid;transport=ws", Source: "203.0.113.5:40004", Transport: "WSS"}, "", "WSS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest, transport := p.destination(tc.t)
			if dest != tc.dest || transport != tc.transport {
				t.Errorf("got %s %s, want %s %s", dest, transport, tc.dest, tc.transport)
			}
		})
	}
}

// A sips: URI without a transport parameter asks for TLS (RFC 5630); Via and
// Record-Route name the TLS listener's port.
func TestTLSHop(t *testing.T) {
	var u sip.Uri
	if err := sip.ParseUri("sips:1001@acme.example", &u); err != nil {
		t.Fatal(err)
	}
	if got := uriTransport(&u); got != "TLS" {
		t.Errorf("sips: URI goes over %s, want TLS", got)
	}
	s := &Self{Host: "10.0.0.1", UDPPort: 5060, TCPPort: 5060, TLSPort: 5061}
	if v := s.Via("TLS", "z9hG4bK-x"); v.Transport != "TLS" || v.Port != 5061 {
		t.Errorf("Via %s, want SIP/2.0/TLS 10.0.0.1:5061", v.Value())
	}
	if rr := s.RecordRoute("TLS"); rr.Address.Port != 5061 {
		t.Errorf("Record-Route %s, want port 5061", rr.Value())
	}
	if !s.Ours("10.0.0.1", 5061) {
		t.Error("a Route to our TLS port is not recognised as ours")
	}
}

// Via and Record-Route name the WS and WSS listeners' ports, and a Route naming
// either is ours.
func TestWebSocketHop(t *testing.T) {
	s := &Self{Host: "10.0.0.1", UDPPort: 5060, TCPPort: 5060, TLSPort: 5061, WSPort: 8080, WSSPort: 8443}
	for transport, port := range map[string]int{"WS": 8080, "WSS": 8443} {
		if v := s.Via(transport, "z9hG4bK-x"); v.Transport != transport || v.Port != port {
			t.Errorf("Via %s, want SIP/2.0/%s 10.0.0.1:%d", v.Value(), transport, port)
		}
		if rr := s.RecordRoute(transport); rr.Address.Port != port {
			t.Errorf("Record-Route %s, want port %d", rr.Value(), port)
		}
		if !s.Ours("10.0.0.1", port) {
			t.Errorf("10.0.0.1:%d is not ours", port)
		}
	}
}
