package controllers

import (
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// nodePorts are the fixed node ports of the Service's ports, by port name; 0 or
// missing: the API server picks one. SIP over UDP and over TCP share one.
func nodePorts(f FleetOptions) map[string]int32 {
	return map[string]int32{
		"sip-udp":   f.SIPNodePort,
		"sip-tcp":   f.SIPNodePort,
		tlsPortName: f.TLSNodePort,
		wsPortName:  f.WSNodePort,
		wssPortName: f.WSSNodePort,
	}
}

// withNodePorts gives each port its fixed node port, if any, on a Service that has
// node ports (a ClusterIP one has none: the API server would refuse them on every
// reconcile, and the operator refuses the flags at start). One dropped from the
// flags is given up by the field manager; the API server then keeps the port it
// had, until the Service is made again.
func withNodePorts(f FleetOptions, ports []*corev1ac.ServicePortApplyConfiguration) []*corev1ac.ServicePortApplyConfiguration {
	if f.ServiceType != corev1.ServiceTypeNodePort && f.ServiceType != corev1.ServiceTypeLoadBalancer {
		return ports
	}
	fixed := nodePorts(f)
	for _, p := range ports {
		if p.Name == nil {
			continue
		}
		if n := fixed[*p.Name]; n > 0 {
			p.WithNodePort(n)
		}
	}
	return ports
}
