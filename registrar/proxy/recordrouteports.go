package proxy

import (
	"fmt"
	"strconv"
	"strings"
)

// TransportPorts are a port for each transport; 0: none.
type TransportPorts struct{ UDP, TCP, TLS, WS, WSS int }

// transportPortNames are the transports as TransportPorts reads and writes them.
var transportPortNames = []string{"udp", "tcp", "tls", "ws", "wss"}

// field returns the port of transport (any case), nil for an unknown one.
func (p *TransportPorts) field(transport string) *int {
	switch strings.ToUpper(transport) {
	case transportUDP:
		return &p.UDP
	case transportTCP:
		return &p.TCP
	case transportTLS:
		return &p.TLS
	case transportWS:
		return &p.WS
	case transportWSS:
		return &p.WSS
	}
	return nil
}

// Of returns the port of transport (UDP, TCP, TLS, WS or WSS, any case); 0 for none.
func (p TransportPorts) Of(transport string) int {
	if f := p.field(transport); f != nil {
		return *f
	}
	return 0
}

// IsZero reports whether p has no port.
func (p TransportPorts) IsZero() bool { return p == TransportPorts{} }

// String is p as Set reads it: "udp=30060,tcp=30060", transports without a port
// left out.
func (p *TransportPorts) String() string {
	var items []string
	for _, t := range transportPortNames {
		if port := p.Of(t); port != 0 {
			items = append(items, t+"="+strconv.Itoa(port))
		}
	}
	return strings.Join(items, ",")
}

// Set reads s, such as "udp=30060,tcp=30060,tls=30061,ws=30080,wss=30443", into
// p (a flag.Value): each transport at most once, each port from 1 to 65535. An
// empty s is no port.
func (p *TransportPorts) Set(s string) error {
	var out TransportPorts
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		transport, port, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("%q: want transport=port, such as udp=30060", item)
		}
		transport = strings.ToLower(strings.TrimSpace(transport))
		f := out.field(transport)
		if f == nil {
			return fmt.Errorf("%q: unknown transport %q: want udp, tcp, tls, ws or wss", item, transport)
		}
		n, err := strconv.Atoi(strings.TrimSpace(port))
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: want a port from 1 to 65535 after %s=", item, transport)
		}
		if *f != 0 {
			return fmt.Errorf("%q: %s has a port already: give each transport once", item, transport)
		}
		*f = n
	}
	*p = out
	return nil
}

// CheckRecordRoutePorts reports whether ports can go into our Record-Route
// (Self.RecordRoutePorts) beside recordRouteHost, for a replica that serves the
// transports served (udp, tcp, tls, ws, wss), and returns those to use: the ports
// of the transports served. They are the ports of that address (a NodePort
// Service's node ports): without it Record-Route names our own address, where
// only our listening ports lead to us, and they are refused. A port of a transport
// we do not serve would be written nowhere: it is left out, and ignored says which
// and why, for a warning (not refused: a replica that stopped on it would stall a
// rollout; an earlier operator handed over UDP's and TCP's alike).
func CheckRecordRoutePorts(ports TransportPorts, recordRouteHost string, served []string) (use TransportPorts, ignored []string, err error) {
	if ports.IsZero() {
		return ports, nil, nil
	}
	if recordRouteHost == "" {
		return TransportPorts{}, nil, fmt.Errorf("record-route ports %s (--record-route-ports) need a record-route host (--record-route-host): "+
			"they are the ports of the address phones reach the fleet at, and without one Record-Route names this replica's own address, "+
			"where only its listening ports lead", ports.String())
	}
	use = ports
	for _, t := range transportPortNames {
		if port := ports.Of(t); port != 0 && !containsFold(served, t) {
			*use.field(t) = 0
			ignored = append(ignored, fmt.Sprintf("%s=%d: this replica does not serve SIP over %s (%s)", t, port, strings.ToUpper(t), servingFlags[t]))
		}
	}
	return use, ignored, nil
}

// servingFlags are the registrar's flags that serve each transport.
var servingFlags = map[string]string{
	"udp": "--transports", "tcp": "--transports", "tls": "--sip-tls-address with --tls-cert-file and --tls-key-file",
	"ws": "--sip-ws-address", "wss": "--sip-wss-address with --tls-cert-file and --tls-key-file",
}

func containsFold(list []string, s string) bool {
	for _, item := range list {
		if strings.EqualFold(item, s) {
			return true
		}
	}
	return false
}
