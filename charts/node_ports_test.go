package charts

import (
	"strings"
	"testing"
)

// nodePortValues fix every node port of a NodePort registrar Service.
const nodePortValues = `registrar:
  serviceType: NodePort
  tls: {secretName: registrar-tls}
  ws: {port: 8080, securePort: 8443}
  nodePorts: {sip: 30060, tls: 30061, ws: 30066, wss: 30067}
`

// registrar.nodePorts reach the operator as --registrar-sip-node-port and its
// siblings (controllers.TestRegistrarFixedNodePorts puts them on the Service); by
// default, or null, none is rendered. Node ports with a ClusterIP Service, of a port
// that is not served, shared by two ports or out of the default range are refused,
// naming the values.
func TestChartRegistrarNodePorts(t *testing.T) {
	operator := func(values ...string) map[string]string {
		return args(t, container(t, find(t, parse(t, helmTemplate(t, registrarNamespace, values...)), "Deployment", "registrar-operator")))
	}
	flags := []string{"registrar-sip-node-port", "registrar-sip-tls-node-port", "registrar-sip-ws-node-port", "registrar-sip-wss-node-port"}
	for what, values := range map[string][]string{
		"by default": nil,
		"null":       {writeValues(t, "registrar: {serviceType: NodePort, nodePorts: {sip: null}}\n")},
	} {
		got := operator(values...)
		for _, f := range flags {
			if v, ok := got[f]; ok {
				t.Errorf("%s: --%s=%s rendered", what, f, v)
			}
		}
	}
	got := operator(writeValues(t, nodePortValues))
	for i, want := range []string{"30060", "30061", "30066", "30067"} {
		if got[flags[i]] != want {
			t.Errorf("--%s=%q, want %s", flags[i], got[flags[i]], want)
		}
	}
	// Record-Route behind a NodePort Service, as values.yaml tells: phones reaching
	// the nodes directly, the node port, the nodes' name and recordRouteNodePorts; the
	// registrar keeps its own port (the operator hands it the node port,
	// controllers.TestRegistrarRecordRoutePorts).
	got = operator(writeValues(t, "registrar: {serviceType: NodePort, nodePorts: {sip: 30060}, recordRouteHost: nodes.sip.example.com, recordRouteNodePorts: true}\n"))
	if got["registrar-sip-port"] != "5060" || got[flags[0]] != "30060" || got["registrar-record-route-host"] != "nodes.sip.example.com" ||
		got["registrar-record-route-node-ports"] != "true" {
		t.Errorf("Record-Route behind NodePort: --registrar-sip-port=%q --%s=%q --registrar-record-route-host=%q --registrar-record-route-node-ports=%q",
			got["registrar-sip-port"], flags[0], got[flags[0]], got["registrar-record-route-host"], got["registrar-record-route-node-ports"])
	}
	// A load balancer of one's own forwarding the registrar's ports to the node
	// ports: by default the node ports are not handed over, and Record-Route keeps
	// the registrar's ports, which that load balancer takes.
	got = operator(writeValues(t, "registrar: {serviceType: NodePort, nodePorts: {sip: 30060}, recordRouteHost: lb.sip.example.com}\n"))
	if v, ok := got["registrar-record-route-node-ports"]; ok || got["registrar-record-route-host"] != "lb.sip.example.com" {
		t.Errorf("NodePort behind a load balancer of one's own: --registrar-record-route-node-ports=%q rendered (%v), --registrar-record-route-host=%q",
			v, ok, got["registrar-record-route-host"])
	}
	got = operator(writeValues(t, "registrar: {serviceType: LoadBalancer, nodePorts: {sip: 31000}}\n"))
	if got[flags[0]] != "31000" {
		t.Errorf("LoadBalancer: --%s=%q, want 31000", flags[0], got[flags[0]])
	}

	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {nodePorts: {sip: 30060}}",
			"registrar.nodePorts need registrar.serviceType: NodePort or LoadBalancer (a ClusterIP Service has no node ports)"},
		{"registrar: {serviceType: NodePort, nodePorts: {tls: 30061}}", "registrar.nodePorts.tls needs registrar.tls.secretName"},
		{"registrar: {serviceType: NodePort, nodePorts: {ws: 30066}}", "registrar.nodePorts.ws needs registrar.ws.port"},
		{"registrar: {serviceType: NodePort, tls: {secretName: s}, nodePorts: {wss: 30067}}", "registrar.nodePorts.wss needs registrar.ws.securePort"},
		{"registrar: {serviceType: NodePort, ws: {port: 8080}, nodePorts: {sip: 30060, ws: 30060}}",
			"registrar.nodePorts.sip and registrar.nodePorts.ws are both 30060"},
		{"registrar: {serviceType: NodePort, nodePorts: {sip: 29999}}", "at '/registrar/nodePorts/sip': minimum: got 29,999, want 30,000"},
		{"registrar: {serviceType: NodePort, nodePorts: {sip: 32768}}", "at '/registrar/nodePorts/sip': maximum: got 32,768, want 32,767"},
		{"registrar: {serviceType: NodePort, nodePorts: {sip: '30060'}}", "at '/registrar/nodePorts/sip': got string, want"},
		{"registrar: {serviceType: NodePort, nodePorts: {udp: 30060}}", "additional properties 'udp' not allowed"},
		{"registrar: {serviceType: LoadBalancer, recordRouteHost: sip.example.com, recordRouteNodePorts: true}",
			"registrar.recordRouteNodePorts needs registrar.serviceType: NodePort (it is LoadBalancer)"},
		{"registrar: {recordRouteHost: sip.example.com, recordRouteNodePorts: true}",
			"registrar.recordRouteNodePorts needs registrar.serviceType: NodePort (it is ClusterIP)"},
		{"registrar: {serviceType: NodePort, nodePorts: {sip: 30060}, recordRouteNodePorts: true}",
			"registrar.recordRouteNodePorts needs registrar.recordRouteHost"},
		{"registrar: {serviceType: NodePort, recordRouteHost: sip.example.com, recordRouteNodePorts: 'yes'}",
			"at '/registrar/recordRouteNodePorts': got string, want boolean"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
}
