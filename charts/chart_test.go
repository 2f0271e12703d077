// Package charts tests the Helm chart and the kustomize configuration: they lint,
// render, refuse wrong values, agree with what controller-gen generates and with the
// operator's flags, and every object they render is accepted by a real API server.
package charts

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestChartLintsAndRenders(t *testing.T) {
	h := helm(t)
	for name, values := range map[string][]string{"default values": nil, "custom values": {customValues}} {
		t.Run(name, func(t *testing.T) {
			lint := []string{"lint", "--strict", chart, "--namespace", registrarNamespace}
			for _, f := range values {
				lint = append(lint, "--values", f)
			}
			mustRun(t, h, lint...)
			objs := parse(t, helmTemplate(t, registrarNamespace, values...))
			if len(ofKind(objs, "Deployment")) != 1 {
				t.Errorf("want exactly one Deployment (the operator's; the operator makes the registrar's)")
			}
			// Argo CD renders the chart on every refresh: the output must not change.
			if again := parse(t, helmTemplate(t, registrarNamespace, values...)); !reflect.DeepEqual(objs, again) {
				t.Errorf("two renders differ: the chart must not render random values")
			}
		})
	}
}

func TestChartDefaults(t *testing.T) {
	objs := parse(t, helmTemplate(t, registrarNamespace))
	d := find(t, objs, "Deployment", "registrar-operator")
	c := container(t, d)
	if got := field(c, "command"); !reflect.DeepEqual(got, []any{"/operator"}) {
		t.Errorf("command = %v, want [/operator]", got)
	}
	want := map[string]string{
		"leader-elect":              "true",
		"health-probe-bind-address": ":8081",
		"metrics-bind-address":      ":8443",
		"metrics-secure":            "true",
		"domain-suffix":             "registrar.voipbin.net",
		"registrar-namespace":       registrarNamespace,
		"manage-registrar":          "true",
		"registrar-name":            "registrar",
		"registrar-image":           "ghcr.io/voipbin/registrar-operator:0.1.0",
		"registrar-replicas":        "2",
		"registrar-service-account": "registrar",
		"registrar-service-type":    "ClusterIP",
		"registrar-sip-port":        "5060",
		"registrar-cpu-request":     "100m",
		"registrar-memory-request":  "192Mi",
		"registrar-cpu-limit":       "", // none: throttling stalls a SIP server
		"registrar-memory-limit":    "512Mi",
	}
	// Phones keep their own address through a NodePort or LoadBalancer Service, so
	// calls reach them (make e2e measures it).
	want["registrar-external-traffic-policy"] = "Local"
	got := args(t, c)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("--%s = %q, want %q", k, got[k], v)
		}
	}
	// An empty flag is rendered, not left out: it overrides the operator's default.
	if _, ok := got["registrar-cpu-limit"]; !ok {
		t.Errorf("--registrar-cpu-limit not rendered")
	}
	if _, ok := got["registrar-extra-args"]; ok {
		t.Errorf("--registrar-extra-args rendered without registrar.extraArgs")
	}
	if _, ok := got["registrar-image-pull-secrets"]; ok {
		t.Errorf("--registrar-image-pull-secrets rendered without imagePullSecrets")
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if p, port := str(c, probe, "httpGet", "path"), field(c, probe, "httpGet", "port"); port != "health" || (p != "/healthz" && p != "/readyz") {
			t.Errorf("%s = %s on %v, want /healthz or /readyz on the health port (8081)", probe, p, port)
		}
	}
	checkRestricted(t, d)

	// Both CRDs, kept on uninstall.
	crds := ofKind(objs, "CustomResourceDefinition")
	if len(crds) != 2 {
		t.Fatalf("want 2 CRDs, got %d", len(crds))
	}
	for _, crd := range crds {
		if str(crd, "metadata", "annotations", "helm.sh/resource-policy") != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep", str(crd, "metadata", "name"))
		}
	}
	// The registrar's ServiceAccount and roles are bound to the account the operator
	// gives its pods.
	checkRegistrarRBAC(t, objs, "registrar", registrarNamespace)
}

func TestChartCustomValues(t *testing.T) {
	objs := parse(t, helmTemplate(t, "sip", customValues))
	if n := len(ofKind(objs, "CustomResourceDefinition")); n != 0 {
		t.Errorf("crds.install=false still renders %d CRDs", n)
	}
	d := find(t, objs, "Deployment", "sip-operator")
	c := container(t, d)
	if got := str(c, "image"); got != "registry.example.com/voipbin/registrar-operator:v1.2.3" {
		t.Errorf("image = %s", got)
	}
	want := map[string]string{
		"leader-elect":                "true", // forced by replicas: 2
		"metrics-bind-address":        ":8080",
		"metrics-secure":              "false",
		"domain-suffix":               "sip.example.com",
		"registrar-namespace":         "sip",
		"registrar-name":              "sip",
		"registrar-image":             "registry.example.com/voipbin/registrar-operator:v1.2.4",
		"registrar-image-pull-policy": "Always",
		"registrar-replicas":          "3",
		"registrar-service-account":   "sip-registrar",
		"registrar-service-type":      "LoadBalancer",
		"registrar-record-route-host": "sip.example.com",
		"registrar-sip-node-port":     "30080",
		"registrar-sip-port":          "5080",
		"registrar-metrics-port":      "9091",
		"registrar-probe-port":        "8082",
		"registrar-extra-args":        "--nonce-lifetime=5m --status-lease=10m",
		"registrar-cpu-request":       "0.5", // numbers in values files are floats to Helm
		"registrar-memory-request":    "",    // null removes the chart's default
		"registrar-cpu-limit":         "2",
		"registrar-memory-limit":      "1Gi",
		"zap-log-level":               "debug",
	}
	got := args(t, c)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("--%s = %q, want %q", k, got[k], v)
		}
	}
	// The registrar runs from the same registry: the operator's pull Secrets.
	if got["registrar-image-pull-secrets"] != "registry-example-com" {
		t.Errorf("--registrar-image-pull-secrets = %q, want registry-example-com", got["registrar-image-pull-secrets"])
	}
	if sa := str(d, "spec", "template", "spec", "serviceAccountName"); sa != "sip-operator-sa" {
		t.Errorf("operator serviceAccountName = %s, want sip-operator-sa", sa)
	}
	find(t, objs, "ServiceAccount", "sip-operator-sa")
	if len(ofKind(objs, "ClusterRole")) != 2 {
		t.Errorf("metrics.secure=false: want only the manager and registrar ClusterRoles")
	}
	checkRegistrarRBAC(t, objs, "sip-registrar", "sip")
}

// The registrar pods pull their image with the chart's imagePullSecrets, as the
// operator does (controllers.TestRegistrarImagePullSecrets puts them on the pods).
func TestChartRegistrarImagePullSecrets(t *testing.T) {
	objs := parse(t, helmTemplate(t, registrarNamespace, writeValues(t, "imagePullSecrets: [{name: registry-a}, {name: registry-b}]\n")))
	d := find(t, objs, "Deployment", "registrar-operator")
	if got := args(t, container(t, d))["registrar-image-pull-secrets"]; got != "registry-a,registry-b" {
		t.Errorf("--registrar-image-pull-secrets = %q, want registry-a,registry-b", got)
	}
	if got := field(d, "spec", "template", "spec", "imagePullSecrets"); len(asList(got)) != 2 {
		t.Errorf("operator imagePullSecrets = %v, want both", got)
	}
}

// With registrar.manage=false ("run the registrar yourself") the operator still
// publishes the nonce key and the credentials every registrar waits for, so it keeps
// the right to write Secrets in the release namespace, and the registrar keeps its
// ServiceAccount and RBAC.
func TestChartUnmanagedRegistrar(t *testing.T) {
	objs := parse(t, helmTemplate(t, registrarNamespace, writeValues(t, "registrar:\n  manage: false\n")))
	if got := args(t, container(t, find(t, objs, "Deployment", "registrar-operator")))["manage-registrar"]; got != "false" {
		t.Errorf("--manage-registrar = %q, want false", got)
	}
	granted := rules(find(t, objs, "ClusterRole", "registrar-operator-manager"))
	for _, verb := range []string{"get", "create"} {
		if !slices.Contains(granted, "/secrets:"+verb) {
			t.Errorf("the operator may not %s Secrets (the nonce key): %q", verb, granted)
		}
	}
	checkRegistrarRBAC(t, objs, "registrar", registrarNamespace)
}

// checkRestricted asserts the restricted Pod Security Standard's settings.
func checkRestricted(t *testing.T, deploy obj) {
	t.Helper()
	pod := field(deploy, "spec", "template", "spec")
	c := container(t, deploy)
	for what, ok := range map[string]bool{
		"pod runAsNonRoot":                   field(pod, "securityContext", "runAsNonRoot") == true,
		"pod seccompProfile RuntimeDefault":  str(pod, "securityContext", "seccompProfile", "type") == "RuntimeDefault",
		"container readOnlyRootFilesystem":   field(c, "securityContext", "readOnlyRootFilesystem") == true,
		"container allowPrivilegeEscalation": field(c, "securityContext", "allowPrivilegeEscalation") == false,
		"container drops ALL capabilities":   reflect.DeepEqual(field(c, "securityContext", "capabilities", "drop"), []any{"ALL"}),
	} {
		if !ok {
			t.Errorf("%s: not set", what)
		}
	}
}

// checkRegistrarRBAC asserts that the ServiceAccount the operator hands its registrar
// pods exists and holds exactly the registrar's permissions, through one RoleBinding
// and one ClusterRoleBinding.
func checkRegistrarRBAC(t *testing.T, objs []obj, sa, ns string) {
	t.Helper()
	find(t, objs, "ServiceAccount", sa)
	var got []string
	for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
		n := 0
		for _, b := range ofKind(objs, kind) {
			for _, s := range asList(b["subjects"]) {
				if str(s, "name") == sa && str(s, "namespace") == ns {
					n++
					role := find(t, objs, str(b, "roleRef", "kind"), str(b, "roleRef", "name"))
					if role["kind"] == "Role" && str(role, "metadata", "namespace") != ns {
						t.Errorf("registrar Role %s is not in namespace %s", str(role, "metadata", "name"), ns)
					}
					for _, r := range rules(role) {
						got = append(got, str(role, "kind")+" "+r)
					}
				}
			}
		}
		if n != 1 {
			t.Errorf("want one %s for ServiceAccount %s/%s, got %d", kind, ns, sa, n)
		}
	}
	slices.Sort(got)
	want := []string{
		"ClusterRole sip.voipbin.net/extensions/status:patch",
		"ClusterRole sip.voipbin.net/extensions:get",
		"ClusterRole sip.voipbin.net/extensions:list",
		"ClusterRole sip.voipbin.net/extensions:watch",
		"Role /configmaps:get",
		"Role /configmaps:list",
		"Role /configmaps:watch",
		"Role /secrets:get",
		"Role /secrets:list",
		"Role /secrets:watch",
	}
	if !slices.Equal(got, want) {
		t.Errorf("registrar permissions:\n got %q\nwant %q", got, want)
	}
}

func TestChartRefusesWrongValues(t *testing.T) {
	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"replicas: -1", "at '/replicas': minimum: got -1, want 0"},
		{"registrar: {replicas: -1}", "at '/registrar/replicas': minimum: got -1, want 0"},
		{"registrar: {replicas: 1.5}", "at '/registrar/replicas': got number, want integer"},
		{"registrar: {serviceType: Foo}", "at '/registrar/serviceType': value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'"},
		{"registrar: {sipPort: 0}", "at '/registrar/sipPort': minimum: got 0, want 1"},
		{"registrar: {sipPort: 65536}", "at '/registrar/sipPort': maximum: got 65,536, want 65,535"},
		{"metrics: {port: 70000}", "at '/metrics/port': maximum"},
		{"domainSuffix: Registrar_VoIPbin.net", "at '/domainSuffix': 'Registrar_VoIPbin.net' does not match pattern"},
		{"domainSuffix: registrar.voipbin.net.", "at '/domainSuffix'"},
		{"registrar: {extraArgs: ['--a=1 --b=2']}", "at '/registrar/extraArgs/0'"},
		{"registrar: {replica: 3}", "additional properties 'replica' not allowed"},
		{"crds: {install: 'yes'}", "at '/crds/install': got string, want boolean"},
		{"registrar: {resources: {limits: {memory: 512MB}}}", "at '/registrar/resources/limits/memory': '512MB' does not match pattern"},
		{"registrar: {resources: {requests: {cpu: -1}}}", "at '/registrar/resources/requests/cpu': minimum: got -1, want 0"},
		{"registrar: {resources: {limits: {ephemeral-storage: 1Gi}}}", "at '/registrar/resources/limits': additional properties 'ephemeral-storage' not allowed"},
	} {
		t.Run(tc.values, func(t *testing.T) {
			f := writeValues(t, tc.values)
			for _, cmd := range [][]string{
				{"template", "registrar-operator", chart, "--values", f},
				{"lint", chart, "--values", f},
			} {
				_, err := run(nil, h, cmd...)
				if err == nil {
					t.Fatalf("helm %s accepted %q", cmd[0], tc.values)
				}
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("helm %s refused %q without %q:\n%v", cmd[0], tc.values, tc.message, err)
				}
			}
		})
	}
}

// TestChartMatchesGenerated: the chart's CRDs and operator rules are what
// controller-gen generated into config/ (make manifests copies them into the chart).
func TestChartMatchesGenerated(t *testing.T) {
	objs := parse(t, helmTemplate(t, registrarNamespace))
	generated := parseFile(t, filepath.Join(root, "config", "rbac", "role.yaml"))
	for _, kind := range []string{"ClusterRole", "Role"} {
		want := rules(find(t, generated, kind, "manager-role"))
		if got := rules(find(t, objs, kind, "registrar-operator-manager")); !slices.Equal(got, want) {
			t.Errorf("chart %s rules differ from config/rbac/role.yaml (run make manifests):\n got %q\nwant %q", kind, got, want)
		}
	}
	bases, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	if n := len(ofKind(objs, "CustomResourceDefinition")); n != len(bases) {
		t.Errorf("chart renders %d CRDs, config/crd/bases has %d (run make manifests)", n, len(bases))
	}
	for _, f := range bases {
		want := parseFile(t, f)[0]
		got := find(t, objs, "CustomResourceDefinition", str(want, "metadata", "name"))
		// The chart only adds its labels and the keep annotations.
		got = deepCopy(t, got)
		meta := got["metadata"].(map[string]any)
		delete(meta, "labels")
		ann := meta["annotations"].(map[string]any)
		delete(ann, "helm.sh/resource-policy")
		delete(ann, "argocd.argoproj.io/sync-options")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("chart CRD %s differs from %s (run make manifests)", str(want, "metadata", "name"), f)
		}
	}
}

// TestChartDisruptionBudgetRights: the operator may watch the registrar namespace's
// PodDisruptionBudgets (its cache holds the fleet's, so that one deleted or edited by
// hand comes back at once) and apply and delete them, and no more: not read one by
// name, not update, not anywhere else.
func TestChartDisruptionBudgetRights(t *testing.T) {
	objs := parse(t, helmTemplate(t, registrarNamespace))
	budgets := func(kind string) []string {
		var out []string
		for _, r := range rules(find(t, objs, kind, "registrar-operator-manager")) {
			if verb, ok := strings.CutPrefix(r, "policy/poddisruptionbudgets:"); ok {
				out = append(out, verb)
			}
		}
		return out
	}
	if got, want := budgets("Role"), []string{"create", "delete", "list", "patch", "watch"}; !slices.Equal(got, want) {
		t.Errorf("Role verbs on poddisruptionbudgets %q, want %q", got, want)
	}
	if got := budgets("ClusterRole"); len(got) > 0 {
		t.Errorf("ClusterRole verbs on poddisruptionbudgets %q, want none (the cache is the registrar namespace's)", got)
	}
}

// TestArgoCDApplicationValues: the example Application's values pass the chart's schema.
func TestArgoCDApplicationValues(t *testing.T) {
	app := parseFile(t, filepath.Join(root, "charts", argoDir, "application.yaml"))[0]
	if p := str(app, "spec", "source", "path"); p != "charts/registrar-operator" {
		t.Errorf("Application source path = %q", p)
	}
	values, err := yaml.Marshal(field(app, "spec", "source", "helm", "valuesObject"))
	if err != nil {
		t.Fatal(err)
	}
	helmTemplate(t, str(app, "spec", "destination", "namespace"), writeValues(t, string(values)))
}

// The chart creates the owner anchor in the release namespace and names it to the
// operator, which makes it the owner of all it creates there: helm uninstall deletes
// the anchor, and Kubernetes' garbage collector the rest (make e2e checks it). The
// anchor is the release's to delete: no resource policy keeps it.
func TestChartOwnerAnchor(t *testing.T) {
	for _, c := range []struct{ name, ns, values, deployment, anchor string }{
		{"default values", registrarNamespace, "", "registrar-operator", "registrar-operator-owner"},
		{"custom values", "sip", customValues, "sip-operator", "sip-operator-owner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var values []string
			if c.values != "" {
				values = append(values, c.values)
			}
			objs := parse(t, helmTemplate(t, c.ns, values...))
			anchor := find(t, objs, "ConfigMap", c.anchor)
			if got := str(anchor, "metadata", "namespace"); got != c.ns {
				t.Errorf("owner anchor in namespace %q, want the release namespace %q", got, c.ns)
			}
			if policy := str(anchor, "metadata", "annotations", "helm.sh/resource-policy"); policy != "" {
				t.Errorf("owner anchor has helm.sh/resource-policy %q: helm uninstall would leave it and all it owns", policy)
			}
			got := args(t, container(t, find(t, objs, "Deployment", c.deployment)))
			if got["owner-anchor"] != c.anchor {
				t.Errorf("--owner-anchor = %q, want %q", got["owner-anchor"], c.anchor)
			}
			if got["registrar-namespace"] != c.ns {
				t.Errorf("--registrar-namespace = %q, want the anchor's namespace %q", got["registrar-namespace"], c.ns)
			}
			// The operator reads the anchor at start.
			if granted := rules(find(t, objs, "Role", c.deployment+"-manager")); !slices.Contains(granted, "/configmaps:get") {
				t.Errorf("the operator may not read the anchor ConfigMap: %q", granted)
			}
		})
	}
}

// Two values on one port render fine, then the registrar (or the operator) cannot
// bind one of them: helm refuses them, naming both.
func TestChartRefusesPortCollisions(t *testing.T) {
	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {tls: {secretName: s}, ws: {securePort: 5061}}", "registrar.tls.port and registrar.ws.securePort are both 5061"},
		{"registrar: {ws: {port: 5060}}", "registrar.sipPort and registrar.ws.port are both 5060"},
		{"registrar: {metricsPort: 8081}", "registrar.metricsPort and registrar.probePort are both 8081"},
		{"registrar: {tls: {secretName: s}, sipPort: 5061}", "registrar.sipPort and registrar.tls.port are both 5061"},
		{"metrics: {port: 8081}", "metrics.port is 8081, the operator's health port"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
	// A port of what is off is free: TLS without a Secret, metrics disabled.
	for _, values := range []string{"registrar: {ws: {port: 5061}}", "metrics: {enabled: false, port: 8081}"} {
		if _, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, values)); err != nil {
			t.Errorf("helm template with %q: %v", values, err)
		}
	}
}
