package charts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

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
	kubeconfig := writeKubeconfig(t, env)

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

// writeKubeconfig writes a kubeconfig for a cluster admin of env.
func writeKubeconfig(t *testing.T, env *testenv.Env) string {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: "chart-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("while adding a user: %v", err)
	}
	b, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("while writing a kubeconfig: %v", err)
	}
	f := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
