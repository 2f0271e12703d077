package charts

import (
	"strings"
	"testing"
)

// registrar.ws turns SIP over WebSocket on: the operator gets the ports and the
// allowed Origins (it opens the ports on the registrar pods and the Service, see
// controllers.TestRegistrarServesWebSocket); by default none is rendered. wss://
// without a TLS Secret, a port out of range or an Origin with a path is refused.
func TestChartRegistrarWebSocket(t *testing.T) {
	operator := func(values ...string) map[string]string {
		return args(t, container(t, find(t, parse(t, helmTemplate(t, registrarNamespace, values...)), "Deployment", "registrar-operator")))
	}
	flags := []string{"registrar-sip-ws-port", "registrar-sip-wss-port", "registrar-ws-allowed-origins"}
	got := operator()
	for _, f := range flags {
		if v, ok := got[f]; ok {
			t.Errorf("--%s=%s rendered by default", f, v)
		}
	}
	got = operator(writeValues(t, "registrar:\n  tls: {secretName: registrar-tls}\n"+
		"  ws: {port: 8080, securePort: 8443, allowedOrigins: ['https://phone.example.com', 'http://localhost:3000']}\n"))
	want := []string{"8080", "8443", "https://phone.example.com,http://localhost:3000"}
	for i, f := range flags {
		if got[f] != want[i] {
			t.Errorf("--%s=%q, want %q", f, got[f], want[i])
		}
	}
	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {ws: {securePort: 8443}}", "registrar.ws.securePort needs registrar.tls.secretName"},
		{"registrar: {ws: {port: 70000}}", "at '/registrar/ws/port': maximum: got 70,000, want 65,535"},
		{"registrar: {ws: {allowedOrigins: ['https://phone.example.com/app']}}", "at '/registrar/ws/allowedOrigins/0'"},
		{"registrar: {ws: {origins: []}}", "additional properties 'origins' not allowed"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
}
