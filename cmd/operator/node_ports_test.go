package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/voipbin/registrar-operator/controllers"
)

// Fixed node ports need a Service that has node ports and a port that is served,
// and one each (SIP's UDP and TCP share theirs); anything else stops the operator at
// start with an error naming the flag.
func TestCheckNodePorts(t *testing.T) {
	all := controllers.DefaultFleetOptions()
	all.ServiceType = corev1.ServiceTypeNodePort
	all.TLSSecretName, all.WSPort, all.WSSPort = "registrar-tls", 8080, 8443
	all.SIPNodePort, all.TLSNodePort, all.WSNodePort, all.WSSNodePort = 30060, 30061, 30066, 30067
	if err := checkNodePorts(all); err != nil {
		t.Errorf("NodePort with all four refused: %v", err)
	}
	lb := all
	lb.ServiceType = corev1.ServiceTypeLoadBalancer
	if err := checkNodePorts(lb); err != nil {
		t.Errorf("LoadBalancer with all four refused: %v", err)
	}
	if err := checkNodePorts(controllers.DefaultFleetOptions()); err != nil {
		t.Errorf("defaults (ClusterIP, none) refused: %v", err)
	}
	for what, tc := range map[string]struct {
		change  func(*controllers.FleetOptions)
		message string
	}{
		"on ClusterIP": {func(f *controllers.FleetOptions) { f.ServiceType = corev1.ServiceTypeClusterIP },
			"--registrar-sip-node-port=30060 needs --registrar-service-type=NodePort or LoadBalancer: a ClusterIP Service has no node ports"},
		"TLS on ClusterIP": {func(f *controllers.FleetOptions) { f.ServiceType, f.SIPNodePort = corev1.ServiceTypeClusterIP, 0 },
			"--registrar-sip-tls-node-port=30061 needs --registrar-service-type=NodePort or LoadBalancer"},
		"TLS off": {func(f *controllers.FleetOptions) { f.TLSSecretName, f.WSSPort, f.WSSNodePort = "", 0, 0 },
			"--registrar-sip-tls-node-port=30061 needs --registrar-tls-secret"},
		"ws off":  {func(f *controllers.FleetOptions) { f.WSPort = 0 }, "--registrar-sip-ws-node-port=30066 needs --registrar-sip-ws-port"},
		"wss off": {func(f *controllers.FleetOptions) { f.WSSPort = 0 }, "--registrar-sip-wss-node-port=30067 needs --registrar-sip-wss-port"},
		"SIP and wss on one": {func(f *controllers.FleetOptions) { f.WSSNodePort = 30060 },
			"--registrar-sip-node-port and --registrar-sip-wss-node-port are both 30060"},
		"TLS and ws on one": {func(f *controllers.FleetOptions) { f.WSNodePort = 30061 },
			"--registrar-sip-tls-node-port and --registrar-sip-ws-node-port are both 30061"},
		"negative":     {func(f *controllers.FleetOptions) { f.SIPNodePort = -1 }, "--registrar-sip-node-port=-1: want a port"},
		"out of range": {func(f *controllers.FleetOptions) { f.WSNodePort = 70000 }, "--registrar-sip-ws-node-port=70000: want a port"},
	} {
		f := all
		tc.change(&f)
		if err := checkNodePorts(f); err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: %v, want %q", what, err, tc.message)
		}
	}
}
