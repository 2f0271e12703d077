package main

import (
	"fmt"

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
