package charts

import (
	"strings"
	"testing"
)

// registrar.recordRouteHost reaches the operator as --registrar-record-route-host
// (controllers.TestRegistrarRecordRouteHost hands it to the registrars); by default
// none is rendered. What is neither a DNS name nor an IP address is refused.
func TestChartRegistrarRecordRouteHost(t *testing.T) {
	operator := func(values ...string) map[string]string {
		return args(t, container(t, find(t, parse(t, helmTemplate(t, registrarNamespace, values...)), "Deployment", "registrar-operator")))
	}
	if v, ok := operator()["registrar-record-route-host"]; ok {
		t.Errorf("--registrar-record-route-host=%s rendered by default", v)
	}
	for _, host := range []string{"sip.example.com", "a1b2-1234.elb.eu-west-1.amazonaws.com", "203.0.113.10", "2001:db8::10"} {
		got := operator(writeValues(t, "registrar: {serviceType: LoadBalancer, recordRouteHost: '"+host+"'}\n"))
		if got["registrar-record-route-host"] != host {
			t.Errorf("recordRouteHost %s: --registrar-record-route-host=%q", host, got["registrar-record-route-host"])
		}
	}
	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {recordRouteHost: SIP.example.com}", "at '/registrar/recordRouteHost': 'SIP.example.com' does not match pattern"},
		{"registrar: {recordRouteHost: sip.example.com.}", "at '/registrar/recordRouteHost'"},
		{"registrar: {recordRouteHost: 'sip.example.com:5060'}", "at '/registrar/recordRouteHost'"},
		{"registrar: {recordRouteHost: 'sip:sip.example.com'}", "at '/registrar/recordRouteHost'"},
		{"registrar: {recordRouteHost: 999.1.1.1}", "at '/registrar/recordRouteHost'"},
		{"registrar: {recordRouteHost: '[2001:db8::10]'}", "at '/registrar/recordRouteHost'"},
		{"registrar: {recordRouteHost: 5060}", "at '/registrar/recordRouteHost': got number, want string"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
}
