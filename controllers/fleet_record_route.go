package controllers

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// TransportNodePort is a transport the registrar fleet serves, with the node port
// fixed for it; 0: the API server picks one.
type TransportNodePort struct {
	Transport string
	NodePort  int32
}

// ServedNodePorts lists the transports the registrar fleet serves (udp, tcp, tls,
// ws, wss), each with its fixed node port; SIP's UDP and TCP share theirs, and
// are served as the registrar's --transports in ExtraArgs says (RegistrarTransports).
func ServedNodePorts(f FleetOptions) []TransportNodePort {
	var ports []TransportNodePort
	for _, t := range []string{"udp", "tcp"} {
		if slices.Contains(RegistrarTransports(f), t) {
			ports = append(ports, TransportNodePort{t, f.SIPNodePort})
		}
	}
	if f.TLSSecretName != "" {
		ports = append(ports, TransportNodePort{"tls", f.TLSNodePort})
	}
	ws := wsPorts(f)
	if _, ok := ws[wsPortName]; ok {
		ports = append(ports, TransportNodePort{"ws", f.WSNodePort})
	}
	if _, ok := ws[wssPortName]; ok {
		ports = append(ports, TransportNodePort{"wss", f.WSSNodePort})
	}
	return ports
}

// recordRoutePortsArgs hands the registrars the ports phones reach them at where
// those are not the registrars' own (--record-route-ports), when asked to
// (RecordRouteNodePorts): behind a NodePort Service with a record-route host (a
// node's address, a DNS name of the nodes), phones that reach the nodes directly
// do so on the node ports, which Record-Route must name for BYE and re-INVITE to
// come back. Not by default: a load balancer of one's own in front of the nodes
// may take SIP on the registrar's ports and forward them to the node ports, and
// Record-Route must then keep the registrar's ports. A LoadBalancer's ports are
// the registrars' own: none then. A transport whose node port the API server picks
// is left out, as it is not known ahead of time (the operator warns at start), and
// so is a transport the registrars do not serve (--transports=udp in ExtraArgs),
// which they would ignore with a warning at every start.
func recordRoutePortsArgs(f FleetOptions) []string {
	if !f.RecordRouteNodePorts || f.ServiceType != corev1.ServiceTypeNodePort || f.RecordRouteHost == "" {
		return nil
	}
	var ports []string
	for _, p := range ServedNodePorts(f) {
		if p.NodePort > 0 {
			ports = append(ports, fmt.Sprintf("%s=%d", p.Transport, p.NodePort))
		}
	}
	if len(ports) == 0 {
		return nil
	}
	return []string{"--record-route-ports=" + strings.Join(ports, ",")}
}
