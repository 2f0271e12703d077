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

// Behind a NodePort Service with a record-route host and
// --registrar-record-route-node-ports, a served transport whose node port the API
// server picks gets a warning at start naming the flag that fixes it; with every
// one fixed, on a LoadBalancer (its ports are the registrar's), without a
// record-route host, or without --registrar-record-route-node-ports (Record-Route
// keeps the registrar's ports, which a load balancer of one's own forwards), none.
func TestCheckRecordRouteNodePorts(t *testing.T) {
	all := controllers.DefaultFleetOptions()
	all.ServiceType, all.RecordRouteHost, all.RecordRouteNodePorts = corev1.ServiceTypeNodePort, "nodes.sip.example.com", true
	all.TLSSecretName, all.WSPort, all.WSSPort = "registrar-tls", 8080, 8443
	all.SIPNodePort, all.TLSNodePort, all.WSNodePort, all.WSSNodePort = 30060, 30061, 30066, 30067
	for what, change := range map[string]func(*controllers.FleetOptions){
		"every node port fixed": func(*controllers.FleetOptions) {},
		"TLS and ws not served": func(f *controllers.FleetOptions) { f.TLSSecretName, f.WSSPort, f.WSPort = "", 0, 0 },
		"LoadBalancer": func(f *controllers.FleetOptions) {
			f.ServiceType, f.SIPNodePort, f.TLSNodePort = corev1.ServiceTypeLoadBalancer, 0, 0
		},
		"no record-route host":    func(f *controllers.FleetOptions) { f.RecordRouteHost, f.SIPNodePort = "", 0 },
		"ClusterIP, none of them": func(f *controllers.FleetOptions) { *f = controllers.DefaultFleetOptions() },
		"node ports not handed over": func(f *controllers.FleetOptions) {
			f.RecordRouteNodePorts, f.SIPNodePort, f.TLSNodePort = false, 0, 0
		},
	} {
		f := all
		change(&f)
		if err := checkRecordRouteNodePorts(f); err != nil {
			t.Errorf("%s: warned %v", what, err)
		}
	}
	for what, tc := range map[string]struct {
		change   func(*controllers.FleetOptions)
		messages []string
	}{
		"SIP's picked": {func(f *controllers.FleetOptions) { f.SIPNodePort = 0 },
			[]string{"SIP over UDP and TCP has no fixed node port", "set --registrar-sip-node-port (registrar.nodePorts in the chart)"}},
		"TLS and wss picked": {func(f *controllers.FleetOptions) { f.TLSNodePort, f.WSSNodePort = 0, 0 },
			[]string{"SIP over TLS and WSS has", "set --registrar-sip-tls-node-port and --registrar-sip-wss-node-port"}},
		"all picked": {func(f *controllers.FleetOptions) {
			f.SIPNodePort, f.TLSNodePort, f.WSNodePort, f.WSSNodePort = 0, 0, 0, 0
		},
			[]string{"SIP over UDP, TCP, TLS, WS and WSS has",
				"set --registrar-sip-node-port, --registrar-sip-tls-node-port, --registrar-sip-ws-node-port and --registrar-sip-wss-node-port"}},
		"SIP's picked, UDP alone served": {func(f *controllers.FleetOptions) {
			f.SIPNodePort, f.ExtraArgs = 0, []string{"--transports=udp"}
		},
			[]string{"SIP over UDP has no fixed node port"}},
		"ws picked": {func(f *controllers.FleetOptions) { f.WSNodePort = 0 },
			[]string{"--registrar-record-route-host=nodes.sip.example.com", "SIP over WS has", "BYE and re-INVITE", "set --registrar-sip-ws-node-port"}},
	} {
		f := all
		tc.change(&f)
		err := checkRecordRouteNodePorts(f)
		for _, m := range tc.messages {
			if err == nil || !strings.Contains(err.Error(), m) {
				t.Errorf("%s: %v, want a warning with %q", what, err, m)
			}
		}
	}
}

// --registrar-record-route-node-ports hands the registrars node ports for
// Record-Route beside --registrar-record-route-host: without a NodePort Service or
// without that host there are none phones reach it at, and the operator stops at
// start saying what it needs. Off (the default), anything goes as before.
func TestCheckRecordRouteNodePortsFlag(t *testing.T) {
	ok := controllers.DefaultFleetOptions()
	ok.ServiceType, ok.RecordRouteHost, ok.RecordRouteNodePorts = corev1.ServiceTypeNodePort, "nodes.sip.example.com", true
	if err := checkRecordRouteNodePortsFlag(ok); err != nil {
		t.Errorf("NodePort with a record-route host: refused %v", err)
	}
	for what, change := range map[string]func(*controllers.FleetOptions){
		"off, NodePort": func(f *controllers.FleetOptions) { f.RecordRouteNodePorts = false },
		"off, LoadBalancer": func(f *controllers.FleetOptions) {
			f.RecordRouteNodePorts, f.ServiceType = false, corev1.ServiceTypeLoadBalancer
		},
		"off, no host":      func(f *controllers.FleetOptions) { f.RecordRouteNodePorts, f.RecordRouteHost = false, "" },
		"off, the defaults": func(f *controllers.FleetOptions) { *f = controllers.DefaultFleetOptions() },
	} {
		f := ok
		change(&f)
		if err := checkRecordRouteNodePortsFlag(f); err != nil {
			t.Errorf("%s: refused %v", what, err)
		}
	}
	for what, tc := range map[string]struct {
		change  func(*controllers.FleetOptions)
		message string
	}{
		"LoadBalancer": {func(f *controllers.FleetOptions) { f.ServiceType = corev1.ServiceTypeLoadBalancer },
			"--registrar-record-route-node-ports needs --registrar-service-type=NodePort (it is LoadBalancer)"},
		"ClusterIP": {func(f *controllers.FleetOptions) { f.ServiceType = corev1.ServiceTypeClusterIP },
			"--registrar-record-route-node-ports needs --registrar-service-type=NodePort (it is ClusterIP)"},
		"no record-route host": {func(f *controllers.FleetOptions) { f.RecordRouteHost = "" },
			"--registrar-record-route-node-ports needs --registrar-record-route-host"},
	} {
		f := ok
		tc.change(&f)
		if err := checkRecordRouteNodePortsFlag(f); err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: %v, want a refusal with %q", what, err, tc.message)
		}
	}
}
