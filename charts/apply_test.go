package charts

import (
	"context"
	"strings"
	"testing"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// TestServerSideDryRun applies everything both install paths render to a real API
// server, server-side with dry-run: the API server validates each object against its
// schema (and the CRDs' CEL rules) and admission, without keeping it. The CRDs are
// installed already (testenv does), so the chart's own copies apply over them.
func TestServerSideDryRun(t *testing.T) {
	kc := kubectl(t)
	chartDefault := helmTemplate(t, registrarNamespace)
	chartCustom := helmTemplate(t, "sip", customValues)
	kustomized := kustomize(t, "default")
	samples := kustomize(t, "samples")

	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig, err := env.WriteAdminKubeconfig(t.TempDir(), "chart-test")
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	// Namespaced objects need their namespace for real: a dry-run creates nothing.
	for _, ns := range []string{registrarNamespace, "sip", "samples"} {
		if err := env.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, manifests, namespace string }{
		{"chart with default values", chartDefault, registrarNamespace},
		{"chart with custom values", chartCustom, "sip"},
		{"kustomize config/default", kustomized, registrarNamespace},
		{"kustomize config/samples", samples, "samples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(strings.NewReader(tc.manifests), kc, "--kubeconfig", kubeconfig,
				"apply", "--server-side", "--dry-run=server", "--force-conflicts",
				"--field-manager=chart-test", "--namespace", tc.namespace, "-f", "-")
			if err != nil {
				t.Fatal(err)
			}
			// One line per object: "<kind>/<name> serverside-applied (server dry run)".
			if got, want := strings.Count(out, "(server dry run)"), len(parse(t, tc.manifests)); got != want {
				t.Errorf("applied %d objects, rendered %d:\n%s", got, want, out)
			}
		})
	}
}
