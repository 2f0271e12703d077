package charts

import (
	"strings"
	"testing"
)

// registrar.tls turns SIP over TLS on: the operator gets the Secret's name and the
// port (it mounts the Secret into the registrar pods and opens the port on them and
// on the Service, see controllers.TestRegistrarServesTLSWithTheNamedSecret); by
// default, neither flag is rendered and the registrar serves no TLS.
func TestChartRegistrarTLS(t *testing.T) {
	operator := func(values ...string) map[string]string {
		return args(t, container(t, find(t, parse(t, helmTemplate(t, registrarNamespace, values...)), "Deployment", "registrar-operator")))
	}
	if got := operator(); got["registrar-tls-secret"] != "" || got["registrar-sip-tls-port"] != "" {
		t.Errorf("TLS flags rendered by default: --registrar-tls-secret=%q --registrar-sip-tls-port=%q",
			got["registrar-tls-secret"], got["registrar-sip-tls-port"])
	}
	for _, tc := range []struct{ values, port string }{
		{"registrar:\n  tls:\n    secretName: registrar-tls\n", "5061"},
		{"registrar:\n  tls:\n    secretName: registrar-tls\n    port: 5071\n", "5071"},
	} {
		got := operator(writeValues(t, tc.values))
		if got["registrar-tls-secret"] != "registrar-tls" || got["registrar-sip-tls-port"] != tc.port {
			t.Errorf("%q renders --registrar-tls-secret=%q --registrar-sip-tls-port=%q, want registrar-tls and %s",
				tc.values, got["registrar-tls-secret"], got["registrar-sip-tls-port"], tc.port)
		}
	}
	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {tls: {secretName: Registrar_TLS}}", "at '/registrar/tls/secretName'"},
		{"registrar: {tls: {port: 0}}", "at '/registrar/tls/port': minimum: got 0, want 1"},
		{"registrar: {tls: {secret: x}}", "additional properties 'secret' not allowed"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
}
