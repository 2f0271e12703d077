package proxy

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Self is how this replica names itself in Via and Record-Route, and recognises
// itself in Route and Via.
type Self struct {
	// Host is the address other hops reach this replica at (its pod IP, or the
	// listener's address): our Via names it, so that responses come back to this
	// replica, which holds the transaction.
	Host string
	// RecordRouteHost is the address phones reach the fleet at (the Service's), for
	// our Record-Route; empty: Host. A phone outside the cluster cannot reach a pod
	// IP, and sends its in-dialog requests where Record-Route says (RFC 3261
	// §12.1): any replica behind that address may receive them, so each takes a
	// Route naming it as its own.
	RecordRouteHost string
	// RecordRoutePorts are the ports phones reach the fleet at, per transport,
	// where they are not our listening ports (a NodePort Service's node ports),
	// for Record-Route with RecordRouteHost; 0: the listening port. A Route
	// naming RecordRouteHost is ours with the port of its own transport
	// (OursURI): the record-route port, and the listening port only for a
	// transport without one (behind a NodePort Service, a node's port 5060 is not
	// us); one naming our own address with one is not, unless we listen there.
	RecordRoutePorts TransportPorts
	// Hosts are further addresses of this replica (the listeners' IPs).
	Hosts []string
	// UDPPort, TCPPort, TLSPort, WSPort and WSSPort are the listening ports; 0
	// when not served.
	UDPPort, TCPPort, TLSPort, WSPort, WSSPort int
	// UDPLocal is the UDP listener's address: requests over UDP leave from it, so
	// that a device behind a NAT sees them come from where its REGISTER went.
	UDPLocal sip.Addr
	// Serves reports whether host is a SIP domain this registrar serves: a Route
	// naming the domain (a pre-loaded route) names us too.
	Serves func(host string) bool
}

// Port returns the listening port for transport.
func (s *Self) Port(transport string) int {
	for _, p := range []struct {
		transport string
		port      int
	}{{transportTLS, s.TLSPort}, {transportWS, s.WSPort}, {transportWSS, s.WSSPort}} {
		if strings.EqualFold(transport, p.transport) && p.port != 0 {
			return p.port
		}
	}
	if strings.EqualFold(transport, transportTCP) && s.TCPPort != 0 {
		return s.TCPPort
	}
	if s.UDPPort != 0 {
		return s.UDPPort
	}
	return s.TCPPort
}

// Ours reports whether host:port (port 0: the default 5060) is this replica over
// any transport: one of its addresses with one of its listening ports, the fleet's
// RecordRouteHost with a port our Record-Route names for any transport, or a
// domain it serves (the Service in front of the replicas, whatever port a
// pre-loaded route gives it). For a URI that says its transport (a Route), OursURI
// decides per transport.
func (s *Self) Ours(host string, port int) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if s.Serves != nil && s.Serves(host) {
		return true
	}
	if port == 0 {
		port = 5060
	}
	if s.isRecordRouteHost(host) && slices.ContainsFunc(transportPortNames, func(t string) bool { return s.recordRoutePort(t) == port }) {
		return true
	}
	return s.ownAddress(host, port)
}

// OursURI reports whether u, a Route entry of a request that arrived over the
// transport arrived, names this replica over the transport u says: its transport
// parameter (RFC 3261 §19.1.1), or, without one, the transport the request came
// over (phones that leave the parameter out send in-dialog requests over the
// transport they registered with), or with neither UDP for sip: and TLS for sips:.
// It is ours when it names the fleet's RecordRouteHost with the port our
// Record-Route names for that transport, one of our addresses with one of our
// listening ports, or a domain we serve. On the record-route host the transport
// matters: behind a NodePort Service with a record-route port for UDP only, that
// host's port 5060 over UDP is a node's, while over TCP (no record-route port,
// listening on 5060) it is ours. Our own addresses lead only to us, whatever the
// transport.
func (s *Self) OursURI(u *sip.Uri, arrived string) bool {
	host := strings.ToLower(strings.Trim(u.Host, "[]"))
	if s.Serves != nil && s.Serves(host) {
		return true
	}
	transport := routeTransport(u, arrived)
	port := u.Port
	if port == 0 {
		port = 5060
		if transport == transportTLS || transport == transportWSS {
			port = 5061 // RFC 3263 §4.2: TLS's default
		}
	}
	if s.isRecordRouteHost(host) && s.recordRoutePort(transport) == port {
		return true
	}
	return s.ownAddress(host, port)
}

// routeTransport is the transport u names (upper case): its transport parameter,
// else arrived, else UDP for sip: and TLS for sips:; secured for sips: (RFC 3261
// §26.2.2: sips: over TCP is TLS).
func routeTransport(u *sip.Uri, arrived string) string {
	t := uriTransport(u)
	if _, given := u.UriParams.Get("transport"); !given && arrived != "" {
		t = strings.ToUpper(arrived)
	}
	if strings.EqualFold(u.Scheme, "sips") {
		switch t {
		case transportTCP:
			return transportTLS
		case transportWS:
			return transportWSS
		}
	}
	return t
}

// ownAddress reports whether host (lower case, without brackets) is one of our
// addresses and port one of our listening ports.
func (s *Self) ownAddress(host string, port int) bool {
	if !s.listensOn(port) {
		return false
	}
	if strings.EqualFold(host, s.Host) {
		return true
	}
	for _, h := range s.Hosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// isRecordRouteHost reports whether host (lower case, without brackets) is the
// fleet's RecordRouteHost.
func (s *Self) isRecordRouteHost(host string) bool {
	return s.RecordRouteHost != "" && strings.EqualFold(host, strings.Trim(s.RecordRouteHost, "[]"))
}

// recordRoutePort is the port our Record-Route names beside RecordRouteHost for
// transport (any case): its record-route port, else its listening port; 0 when we
// do not serve it. A transport's listening port is not ours there once it has a
// record-route port: that port of the record-route host (a node's, behind a
// NodePort Service) leads elsewhere, or nowhere.
func (s *Self) recordRoutePort(transport string) int {
	listening := s.listeningPort(transport)
	if listening == 0 {
		return 0 // not served
	}
	if p := s.RecordRoutePorts.Of(transport); p != 0 {
		return p
	}
	return listening
}

// listeningPort is our listening port for transport (any case); 0 when not served.
// Unlike Port, no other transport's port stands in.
func (s *Self) listeningPort(transport string) int {
	ports := TransportPorts{UDP: s.UDPPort, TCP: s.TCPPort, TLS: s.TLSPort, WS: s.WSPort, WSS: s.WSSPort}
	return ports.Of(transport)
}

// listensOn reports whether port is one of our listening ports.
func (s *Self) listensOn(port int) bool {
	for _, p := range []int{s.UDPPort, s.TCPPort, s.TLSPort, s.WSPort, s.WSSPort} {
		if p != 0 && p == port {
			return true
		}
	}
	return false
}

// Via returns our Via for a request sent over transport. Over UDP it asks for
// rport (RFC 3581): behind kube-proxy the next hop sees the request come from a
// node's or load balancer's address and port, not from our sent-by, and only with
// rport does it answer to the port the request came from, the one that leads back
// to us. A stream's responses come back over its connection: no need there.
func (s *Self) Via(transport, branch string) *sip.ViaHeader {
	v := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: strings.ToUpper(transport),
		Host: s.Host, Port: s.Port(transport), Params: sip.NewParams()}
	v.Params.Add("branch", branch)
	if strings.EqualFold(transport, transportUDP) {
		v.Params.Add("rport", "") // rendered as a bare ";rport"
	}
	return v
}

// RecordRoute returns our Record-Route entry for the side reached over transport:
// RecordRouteHost with its port for transport in RecordRoutePorts, else with the
// port we listen on for transport; without RecordRouteHost, Host with that port.
// The transport parameter lets each side come back over the transport it uses
// with us (RFC 5658).
func (s *Self) RecordRoute(transport string) *sip.RecordRouteHeader {
	host, port := strings.Trim(s.RecordRouteHost, "[]"), s.Port(transport)
	if host == "" {
		host = s.Host
	} else if p := s.RecordRoutePorts.Of(transport); p != 0 {
		port = p
	}
	u := sip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sip.NewParams()}
	u.UriParams.Add("transport", strings.ToLower(transport))
	u.UriParams.Add("lr", "")
	return &sip.RecordRouteHeader{Address: u}
}

// HostPort is Host with the port of transport: how another replica reaches this
// one (FlowRoute), never RecordRouteHost, which may lead to any replica.
func (s *Self) HostPort(transport string) string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port(transport)))
}

// StreamPorts are the ports of the listeners beside UDP and TCP; 0 for none.
type StreamPorts struct{ TLS, WS, WSS int }

// NewSelf describes a replica listening on udp and tcp (either may be nil), and for
// TLS and WebSocket on ports. host is the address to advertise; empty means the
// listener's address, or when that is a wildcard, the first non-loopback address of
// the machine.
func NewSelf(udp net.PacketConn, tcp net.Listener, ports StreamPorts, host string, serves func(string) bool) *Self {
	s := &Self{Host: host, TLSPort: ports.TLS, WSPort: ports.WS, WSSPort: ports.WSS, Serves: serves}
	var ip net.IP
	if udp != nil {
		if a, ok := udp.LocalAddr().(*net.UDPAddr); ok {
			ip, s.UDPPort = a.IP, a.Port
			s.UDPLocal = sip.Addr{IP: a.IP, Port: a.Port, Hostname: a.IP.String()}
		}
	}
	if tcp != nil {
		if a, ok := tcp.Addr().(*net.TCPAddr); ok {
			ip, s.TCPPort = a.IP, a.Port
		}
	}
	if ip != nil && !ip.IsUnspecified() {
		s.Hosts = append(s.Hosts, ip.String())
	} else {
		s.Hosts = append(s.Hosts, interfaceAddrs()...)
	}
	if s.Host == "" && len(s.Hosts) > 0 {
		s.Host = s.Hosts[0]
	}
	return s
}

// interfaceAddrs lists the machine's unicast addresses, non-loopback first.
func interfaceAddrs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out, loop []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() {
			continue
		}
		if n.IP.IsLoopback() {
			loop = append(loop, n.IP.String())
		} else {
			out = append(out, n.IP.String())
		}
	}
	return append(out, loop...)
}
