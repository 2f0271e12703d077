package main

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/voipbin/registrar-operator/controllers"
)

// checkNodePorts refuses fixed node ports the registrar Service could not have, or
// that would fix nothing: any on a ClusterIP Service (it has no node ports; the API
// server would refuse them), one of a port that is not served (TLS without its
// Secret, WebSocket at 0), one out of the port range, or two ports on one node port
// (the API server refuses that but for SIP's UDP and TCP, which share theirs). The
// API server checks the cluster's node port range (30000-32767 by default).
func checkNodePorts(f controllers.FleetOptions) error {
	ports := []struct {
		flag   string
		port   int32
		unused string // why the port is not served, if it is not
	}{
		{"registrar-sip-node-port", f.SIPNodePort, ""},
		{"registrar-sip-tls-node-port", f.TLSNodePort, onlyIf(f.TLSSecretName == "", "--registrar-tls-secret: without it no SIP over TLS is served")},
		{"registrar-sip-ws-node-port", f.WSNodePort, onlyIf(f.WSPort == 0, "--registrar-sip-ws-port: without it no ws:// is served")},
		{"registrar-sip-wss-node-port", f.WSSNodePort, onlyIf(f.WSSPort == 0, "--registrar-sip-wss-port: without it no wss:// is served")},
	}
	seen := map[int32]string{}
	for _, p := range ports {
		switch {
		case p.port == 0:
			continue
		case p.port < 0 || p.port > 65535:
			return fmt.Errorf("--%s=%d: want a port of the cluster's node port range (30000-32767 by default), or 0 for one the API server picks", p.flag, p.port)
		case f.ServiceType != corev1.ServiceTypeNodePort && f.ServiceType != corev1.ServiceTypeLoadBalancer:
			return fmt.Errorf("--%s=%d needs --registrar-service-type=NodePort or LoadBalancer: a %s Service has no node ports", p.flag, p.port, f.ServiceType)
		case p.unused != "":
			return fmt.Errorf("--%s=%d needs %s", p.flag, p.port, p.unused)
		case seen[p.port] != "":
			return fmt.Errorf("--%s and --%s are both %d: each port of the registrar Service needs a node port of its own (SIP's UDP and TCP share theirs)",
				seen[p.port], p.flag, p.port)
		}
		seen[p.port] = p.flag
	}
	return nil
}

// onlyIf is s when cond holds, else empty.
func onlyIf(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// nodePortFlags are the operator flags that fix each transport's node port.
var nodePortFlags = map[string]string{
	"udp": "--registrar-sip-node-port", "tcp": "--registrar-sip-node-port",
	"tls": "--registrar-sip-tls-node-port", "ws": "--registrar-sip-ws-node-port", "wss": "--registrar-sip-wss-node-port",
}

// checkRecordRouteNodePortsFlag refuses --registrar-record-route-node-ports where
// there are no node ports phones reach --registrar-record-route-host at: without a
// NodePort Service (a LoadBalancer takes SIP on the registrar's own ports, a
// ClusterIP one has no node ports), or without a record-route host (Record-Route
// then names the pod, at its listening ports).
func checkRecordRouteNodePortsFlag(f controllers.FleetOptions) error {
	if !f.RecordRouteNodePorts {
		return nil
	}
	if f.ServiceType != corev1.ServiceTypeNodePort {
		return fmt.Errorf("--registrar-record-route-node-ports needs --registrar-service-type=NodePort (it is %s): "+
			"only behind a NodePort Service do phones reach the registrars at node ports", f.ServiceType)
	}
	if f.RecordRouteHost == "" {
		return fmt.Errorf("--registrar-record-route-node-ports needs --registrar-record-route-host: " +
			"the node ports go into Record-Route beside that address (a node's, or a DNS name of the nodes'); " +
			"without it Record-Route names the pod, at its own ports")
	}
	return nil
}

// checkRecordRouteNodePorts reports the transports whose calls phones could not
// hang up behind a NodePort Service with a record-route host, with
// --registrar-record-route-node-ports: phones reach the registrars on the node
// ports, which the registrars write in Record-Route only when fixed (one the API
// server picks is not known ahead of time); without one they write their listening
// port, which the nodes do not serve. Not refused: the calls of the other
// transports work, and registering works over all of them.
func checkRecordRouteNodePorts(f controllers.FleetOptions) error {
	if !f.RecordRouteNodePorts || f.ServiceType != corev1.ServiceTypeNodePort || f.RecordRouteHost == "" {
		return nil
	}
	var transports, flags []string
	for _, p := range controllers.ServedNodePorts(f) {
		if p.NodePort != 0 {
			continue
		}
		transports = append(transports, strings.ToUpper(p.Transport))
		if flag := nodePortFlags[p.Transport]; !slices.Contains(flags, flag) {
			flags = append(flags, flag)
		}
	}
	if len(transports) == 0 {
		return nil
	}
	return fmt.Errorf("with --registrar-service-type=NodePort and --registrar-record-route-host=%s, SIP over %s has no fixed node port: "+
		"the registrars write their listening port in Record-Route for it, which phones do not reach on the nodes, "+
		"so BYE and re-INVITE of calls over it are lost; set %s (registrar.nodePorts in the chart)",
		f.RecordRouteHost, joinAnd(transports), joinAnd(flags))
}

// joinAnd lists items as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
