package proxy

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// behindNodePorts is a replica at pod IP 10.0.0.1 listening on 5060 (UDP, TCP)
// and 5061 (TLS), whose fleet phones reach at nodes.example.com on a NodePort
// Service's node ports: 30060 for UDP and TCP, 30061 for TLS; none for WS.
func behindNodePorts() *Self {
	return &Self{Host: "10.0.0.1", RecordRouteHost: "nodes.example.com", UDPPort: 5060, TCPPort: 5060, TLSPort: 5061, WSPort: 8080,
		RecordRoutePorts: TransportPorts{UDP: 30060, TCP: 30060, TLS: 30061}}
}

// Record-Route names the node port of each transport, the port phones reach the
// fleet at; a transport without one keeps its listening port. Via and the route
// other replicas reach this one by keep the pod's address and listening ports.
func TestSelfRecordRouteNamesTheRecordRoutePorts(t *testing.T) {
	s := behindNodePorts()
	for _, tc := range []struct{ transport, want string }{
		{"UDP", "<sip:nodes.example.com:30060;transport=udp;lr>"},
		{"tcp", "<sip:nodes.example.com:30060;transport=tcp;lr>"},
		{"TLS", "<sip:nodes.example.com:30061;transport=tls;lr>"},
		{"WS", "<sip:nodes.example.com:8080;transport=ws;lr>"},
	} {
		if got := s.RecordRoute(tc.transport).Value(); got != tc.want {
			t.Errorf("Record-Route over %s = %s, want %s", tc.transport, got, tc.want)
		}
	}
	if v := s.Via("UDP", "z9hG4bK-x"); v.Host != "10.0.0.1" || v.Port != 5060 {
		t.Errorf("Via = %s, want the pod's 10.0.0.1:5060", v.Value())
	}
	if got := s.HostPort("TLS"); got != "10.0.0.1:5061" {
		t.Errorf("HostPort(TLS) = %s, want the pod's 10.0.0.1:5061", got)
	}
	if got := s.FlowRoute(); got != "sip:10.0.0.1:5060;transport=tcp;lr;ob" {
		t.Errorf("FlowRoute = %s, want the pod's address and listening port", got)
	}

	// Without a record-route host the ports would name the pod at a port it does
	// not listen on: Record-Route keeps the listening ones.
	s.RecordRouteHost = ""
	if got := s.RecordRoute("UDP").Value(); got != "<sip:10.0.0.1:5060;transport=udp;lr>" {
		t.Errorf("without a record-route host, Record-Route = %s, want the pod's listening port", got)
	}
}

// A BYE back through the NodePort Service names the record-route host with a
// node port: ours, whichever replica it reaches. The pod's own address with a
// node port is not ours (nothing of ours listens there), nor another host with it.
// A transport without a node port (WS here) keeps its listening port on the
// record-route host.
func TestSelfOursRecognisesTheRecordRoutePorts(t *testing.T) {
	s := behindNodePorts()
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"nodes.example.com", 30060, true},
		{"NODES.example.com", 30061, true},
		{"nodes.example.com", 8080, true},
		{"nodes.example.com", 30062, false},
		{"10.0.0.1", 30060, false},
		{"10.0.0.1", 30061, false},
		{"10.0.0.1", 5061, true},
		{"other.example.com", 30060, false},
	} {
		if got := s.Ours(tc.host, tc.port); got != tc.want {
			t.Errorf("Ours(%q, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
	}
	s.RecordRouteHost = ""
	if s.Ours("10.0.0.1", 30060) {
		t.Error("without a record-route host, the pod's address with a node port is ours")
	}
}

// Behind a NodePort Service, the record-route host's port 5060 is a node's, not
// the fleet's: with a record-route port for each transport that listens on 5060
// (UDP, TCP) or 5061 (TLS), a Route naming the host with one of those listening
// ports is not ours, and is routed on rather than popped. Nor is the port of a
// transport we do not serve (WSS here), even with a record-route port.
func TestSelfOursRefusesTheListeningPortOnTheRecordRouteHost(t *testing.T) {
	s := behindNodePorts()
	s.RecordRoutePorts.WSS = 30067
	for _, port := range []int{5060, 5061, 0, 30067} {
		if s.Ours("nodes.example.com", port) {
			t.Errorf("Ours(nodes.example.com, %d) with record-route ports %s: want not ours", port, s.RecordRoutePorts.String())
		}
	}
	// The pod's own address keeps its listening ports.
	if !s.Ours("10.0.0.1", 5060) {
		t.Error("the pod's own address with its listening port is not ours")
	}
	// A transport without a record-route port keeps its listening port there (UDP
	// and TCP share 5060: with only UDP's given, TCP's 5060 is still ours).
	s.RecordRoutePorts = TransportPorts{UDP: 30060}
	if !s.Ours("nodes.example.com", 5060) || !s.Ours("nodes.example.com", 30060) {
		t.Error("with a record-route port for UDP only, the record-route host with TCP's listening port or UDP's node port is not ours")
	}
	// Without record-route ports, the listening ports are the record-route host's.
	s.RecordRoutePorts = TransportPorts{}
	if !s.Ours("nodes.example.com", 5060) || s.Ours("nodes.example.com", 30060) {
		t.Error("without record-route ports, want the record-route host ours at its listening ports only")
	}

	p := New(Config{Self: behindNodePorts()})
	req := parse(t, "BYE sip:1001@192.0.2.1:5062 SIP/2.0\n"+
		"Route: <sip:nodes.example.com:5060;transport=udp;lr>\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-caller\nFrom: <sip:a@example.org>;tag=a1\n"+
		"To: <sip:1001@acme.example>;tag=b1\nCall-ID: c1\nCSeq: 2 BYE\nContent-Length: 0\n\n")
	if p.popOwnRoutes(req) {
		t.Error("a Route naming the record-route host with the listening port was popped as ours")
	}
}

// The BYE of a phone outside the cluster, its route set our two entries with node
// ports (the call crossed UDP and TLS), is popped down to the next hop's Route,
// not sent to ourselves.
func TestPopOwnRoutesPopsTheRecordRoutePorts(t *testing.T) {
	p := New(Config{Self: behindNodePorts()})
	req := parse(t, "BYE sip:1001@192.0.2.1:5062 SIP/2.0\n"+
		"Route: <sip:nodes.example.com:30061;transport=tls;lr>\n"+
		"Route: <sip:nodes.example.com:30060;transport=udp;lr>\n"+
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

// --record-route-ports reads transport=port pairs, each transport once; what it
// reads it writes back the same way.
func TestTransportPortsSet(t *testing.T) {
	for in, want := range map[string]TransportPorts{
		"":          {},
		"udp=30060": {UDP: 30060},
		"udp=30060,tcp=30060,tls=30061,ws=30080,wss=30443": {UDP: 30060, TCP: 30060, TLS: 30061, WS: 30080, WSS: 30443},
		" UDP = 30060 , tls=30061, ":                       {UDP: 30060, TLS: 30061},
	} {
		var got TransportPorts
		if err := got.Set(in); err != nil || got != want {
			t.Errorf("Set(%q) = %+v, %v; want %+v", in, got, err, want)
			continue
		}
		var again TransportPorts
		if err := again.Set(got.String()); err != nil || again != got {
			t.Errorf("Set(%q) of String() = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

// A wrong --record-route-ports stops the registrar at start with a message that
// names the flag, the item and what it wants.
func TestTransportPortsRefusesBadInput(t *testing.T) {
	for in, message := range map[string]string{
		"30060":               `"30060": want transport=port, such as udp=30060`,
		"udp:30060":           `"udp:30060": want transport=port`,
		"sctp=30060":          `unknown transport "sctp": want udp, tcp, tls, ws or wss`,
		"sip=30060":           `unknown transport "sip"`,
		"udp=":                `"udp=": want a port from 1 to 65535 after udp=`,
		"udp=x":               `want a port from 1 to 65535`,
		"tls=0":               `"tls=0": want a port from 1 to 65535`,
		"ws=65536":            `"ws=65536": want a port from 1 to 65535`,
		"wss=-1":              `want a port from 1 to 65535`,
		"udp=30060,udp=30061": `"udp=30061": udp has a port already: give each transport once`,
	} {
		fs := flag.NewFlagSet("registrar", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		ports := TransportPorts{UDP: 1}
		fs.Var(&ports, "record-route-ports", "")
		err := fs.Parse([]string{"--record-route-ports=" + in})
		if err == nil || !strings.Contains(err.Error(), "-record-route-ports") || !strings.Contains(err.Error(), message) {
			t.Errorf("--record-route-ports=%s: %v, want an error naming the flag and %q", in, err, message)
		}
		if ports != (TransportPorts{UDP: 1}) {
			t.Errorf("--record-route-ports=%s refused but changed the ports to %+v", in, ports)
		}
	}
}

// Record-route ports go with a record-route host; those of transports not served
// are left out with a reason (a warning at start), not refused: a replica serving
// UDP only (--transports=udp) is still handed TCP's node port by the operator.
func TestCheckRecordRoutePorts(t *testing.T) {
	served := []string{"udp", "tcp", "tls"}
	ports := TransportPorts{UDP: 30060, TCP: 30060, TLS: 30061}
	if use, ignored, err := CheckRecordRoutePorts(ports, "nodes.example.com", served); err != nil || use != ports || ignored != nil {
		t.Errorf("ports of served transports: %+v %q %v, want them all, none ignored", use, ignored, err)
	}
	if use, ignored, err := CheckRecordRoutePorts(TransportPorts{}, "", nil); err != nil || !use.IsZero() || ignored != nil {
		t.Errorf("no ports: %+v %q %v", use, ignored, err)
	}
	if _, _, err := CheckRecordRoutePorts(ports, "", served); err == nil || !strings.Contains(err.Error(), "need a record-route host (--record-route-host)") {
		t.Errorf("ports without a record-route host: %v, want a refusal asking for one", err)
	}
	use, ignored, err := CheckRecordRoutePorts(ports, "nodes.example.com", []string{"udp"})
	if err != nil || use != (TransportPorts{UDP: 30060}) {
		t.Errorf("UDP, TCP and TLS ports for a replica that serves UDP only: %+v %v, want UDP's kept", use, err)
	}
	if len(ignored) != 2 || !strings.Contains(ignored[0], "tcp=30060: this replica does not serve SIP over TCP (--transports)") ||
		!strings.Contains(ignored[1], "tls=30061: this replica does not serve SIP over TLS (--sip-tls-address") {
		t.Errorf("ignored %q, want TCP's and TLS's, each with why", ignored)
	}
	ports.WSS = 30443
	if use, ignored, err := CheckRecordRoutePorts(ports, "nodes.example.com", served); err != nil || use.WSS != 0 || use.UDP != 30060 ||
		len(ignored) != 1 || !strings.Contains(ignored[0], "wss=30443: this replica does not serve SIP over WSS (--sip-wss-address") {
		t.Errorf("a WSS port for a replica without WSS: %+v %q %v, want it ignored, the others kept", use, ignored, err)
	}
}
