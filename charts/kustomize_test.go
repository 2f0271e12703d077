// Tests of the kustomize configuration in config/, and of what both install paths share.

package charts

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestChartAndKustomizeAgree: both install paths grant the same permissions.
func TestChartAndKustomizeAgree(t *testing.T) {
	chartObjs := parse(t, helmTemplate(t, registrarNamespace))
	kustObjs := parse(t, kustomize(t, "default"))
	for _, pair := range []struct{ kind, chartName, kustName string }{
		{"ClusterRole", "registrar-operator-manager", "registrar-operator-manager-role"},
		{"Role", "registrar-operator-manager", "registrar-operator-manager-role"},
		{"Role", "registrar-operator-leader-election", "registrar-operator-leader-election-role"},
		{"ClusterRole", "registrar-operator-metrics-auth", "registrar-operator-metrics-auth-role"},
		{"ClusterRole", "registrar-operator-metrics-reader", "registrar-operator-metrics-reader"},
		{"Role", "registrar-operator-registrar", "registrar-operator-registrar-role"},
		{"ClusterRole", "registrar-operator-registrar", "registrar-operator-registrar-role"},
	} {
		got, want := rules(find(t, chartObjs, pair.kind, pair.chartName)), rules(find(t, kustObjs, pair.kind, pair.kustName))
		if !slices.Equal(got, want) {
			t.Errorf("%s %s (chart) and %s (config/rbac) differ:\n chart     %q\n kustomize %q", pair.kind, pair.chartName, pair.kustName, got, want)
		}
	}
}

func TestKustomize(t *testing.T) {
	objs := parse(t, kustomize(t, "default"))
	for _, o := range objs {
		if ns := str(o, "metadata", "namespace"); ns != "" && ns != registrarNamespace {
			t.Errorf("%s %s in namespace %s, want %s", o["kind"], str(o, "metadata", "name"), ns, registrarNamespace)
		}
	}
	find(t, objs, "Namespace", registrarNamespace)
	d := find(t, objs, "Deployment", "registrar-operator-controller-manager")
	c := container(t, d)
	if got := field(c, "command"); !reflect.DeepEqual(got, []any{"/operator"}) {
		t.Errorf("command = %v, want [/operator]", got)
	}
	a := args(t, c)
	for k, v := range map[string]string{
		"leader-elect": "true", "health-probe-bind-address": ":8081", "metrics-bind-address": ":8443",
	} {
		if a[k] != v {
			t.Errorf("--%s = %q, want %q", k, a[k], v)
		}
	}
	checkRestricted(t, d)
	// namePrefix renames the registrar's ServiceAccount; the operator must be told.
	checkRegistrarRBAC(t, objs, a["registrar-service-account"], registrarNamespace)

	for _, dir := range []string{"network-policy", "prometheus"} {
		if len(parse(t, kustomize(t, dir))) == 0 {
			t.Errorf("config/%s renders nothing", dir)
		}
	}
}

func TestSamples(t *testing.T) {
	objs := parse(t, kustomize(t, "samples"))
	d := find(t, objs, "Domain", "acme")
	if str(d, "spec", "customerID") != "acme" {
		t.Errorf("Domain acme: customerID = %q", str(d, "spec", "customerID"))
	}
	e := find(t, objs, "Extension", "acme-1001")
	for path, want := range map[string]string{
		"extension": "1001", "domainRef": "acme", "passwordSecretRef.name": "acme-1001-password", "passwordSecretRef.key": "password",
	} {
		if got := str(e["spec"], strings.Split(path, ".")...); got != want {
			t.Errorf("Extension acme-1001: spec.%s = %q, want %q", path, got, want)
		}
	}
	s := find(t, objs, "Secret", "acme-1001-password")
	if got := str(s, "stringData", "password"); got != "change-me-1001" {
		t.Errorf("sample password = %q, want change-me-1001", got)
	}
}

// TestFlagsExist: every flag the chart and kustomize pass is one the operator defines,
// or the operator would refuse to start.
func TestFlagsExist(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "operator")
	mustRun(t, "go", "build", "-o", bin, "./cmd/operator")
	// The flag package prints "  -name type" for every flag on stderr, then exits.
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	help := string(out)
	defined := map[string]bool{}
	for _, line := range strings.Split(help, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "  -") {
			defined[strings.TrimPrefix(f[0], "-")] = true
		}
	}
	if !defined["leader-elect"] {
		t.Fatalf("could not read the operator's flags from -h:\n%s", help)
	}
	for name, manifests := range map[string]string{
		"chart":          helmTemplate(t, registrarNamespace),
		"chart (custom)": helmTemplate(t, registrarNamespace, customValues),
		"chart (TLS)":    helmTemplate(t, registrarNamespace, writeValues(t, "registrar:\n  tls:\n    secretName: registrar-tls\n")),
		"chart (WebSocket)": helmTemplate(t, registrarNamespace, writeValues(t,
			"registrar:\n  tls: {secretName: registrar-tls}\n  ws: {port: 8080, securePort: 8443, allowedOrigins: ['*']}\n")),
		"chart (load balancer)": helmTemplate(t, registrarNamespace, writeValues(t, lbValues)),
		"chart (placement)":     helmTemplate(t, registrarNamespace, writeValues(t, placementValues)),
		"chart (record route)":  helmTemplate(t, registrarNamespace, writeValues(t, "registrar: {recordRouteHost: sip.example.com}\n")),
		"chart (node ports)":    helmTemplate(t, registrarNamespace, writeValues(t, nodePortValues)),
		"kustomize":             kustomize(t, "default"),
		"chart (record-route node ports)": helmTemplate(t, registrarNamespace, writeValues(t,
			"registrar: {serviceType: NodePort, nodePorts: {sip: 30060}, recordRouteHost: nodes.sip.example.com, recordRouteNodePorts: true}\n")),
	} {
		for _, d := range ofKind(parse(t, manifests), "Deployment") {
			for flag := range args(t, container(t, d)) {
				if !defined[flag] {
					t.Errorf("%s passes --%s, which the operator does not define", name, flag)
				}
			}
		}
	}
}

// TestKustomizeRunsTheImageMakeBuilds: config/default runs the image `make image`
// builds ($(IMG), tagged with the chart's appVersion), for the operator and for the
// registrar pods the operator runs: --registrar-image names the same image.
func TestKustomizeRunsTheImageMakeBuilds(t *testing.T) {
	// The Makefile's own IMG, not one from the environment (IMG ?= ...).
	img := strings.TrimSpace(mustRun(t, "env", "-u", "IMG", "make", "-s", "--no-print-directory",
		"--eval", "print-img: ; @echo $(IMG)", "print-img"))
	if !strings.HasPrefix(img, "ghcr.io/voipbin/registrar-operator:") || strings.HasSuffix(img, ":") {
		t.Fatalf("could not read IMG from the Makefile: %q", img)
	}
	c := container(t, find(t, parse(t, kustomize(t, "default")), "Deployment", "registrar-operator-controller-manager"))
	if got := str(c, "image"); got != img {
		t.Errorf("operator image %q, want the Makefile's IMG %q", got, img)
	}
	// The kubelet expands $(VAR) in args from the container's env.
	registrar := args(t, c)["registrar-image"]
	for _, e := range asList(c["env"]) {
		registrar = strings.ReplaceAll(registrar, "$("+str(e, "name")+")", str(e, "value"))
	}
	if registrar != img {
		t.Errorf("--registrar-image resolves to %q, want the operator's image %q", registrar, img)
	}
}
