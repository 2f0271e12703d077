// Helpers of the chart and kustomize tests: finding tools, rendering, reading objects.

package charts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// The namespace both install paths default to.
const registrarNamespace = "registrar-system"

var (
	root  = testenv.Root()
	chart = filepath.Join(root, "charts", "registrar-operator")
)

// obj is one rendered Kubernetes object.
type obj = map[string]any

// tool finds a binary the tests need: env envVar, else fallback. A missing tool fails
// the test with what to do, never skips it: `make test` provides every tool, and a
// test that skips passes silently on a broken setup.
func tool(t *testing.T, envVar, fallback, hint string) string {
	t.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		p = fallback
	}
	if p == "" {
		t.Fatalf("no %s: %s", envVar, hint)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s (%s): %v; %s", envVar, p, err, hint)
	}
	return p
}

// helm is bin/helm, the version make helm pins (schema messages vary between
// versions), unless env HELM names another.
func helm(t *testing.T) string {
	return tool(t, "HELM", filepath.Join(root, "bin", "helm"), "run make test, or make helm")
}

// kubectl has kustomize built in: the one make test builds (env KUBECTL), else any
// on the PATH.
func kubectl(t *testing.T) string {
	p, _ := exec.LookPath("kubectl")
	return tool(t, "KUBECTL", p, "run make test, which builds kubectl, or set KUBECTL")
}

// run runs a command in the repository root and returns its stdout; stderr joins the error.
func run(stdin io.Reader, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(nil, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// helmTemplate renders the chart as release "registrar-operator" in namespace ns.
func helmTemplate(t *testing.T, ns string, valuesFiles ...string) string {
	t.Helper()
	args := []string{"template", "registrar-operator", chart, "--namespace", ns}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	return mustRun(t, helm(t), args...)
}

func kustomize(t *testing.T, dir string) string {
	t.Helper()
	return mustRun(t, kubectl(t), "kustomize", filepath.Join(root, "config", dir))
}

// parse splits a multi-document YAML stream into objects, skipping empty documents.
func parse(t *testing.T, manifests string) []obj {
	t.Helper()
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	var objs []obj
	for {
		var o obj
		if err := d.Decode(&o); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("while parsing rendered YAML: %v", err)
		}
		if len(o) > 0 {
			objs = append(objs, o)
		}
	}
}

func parseFile(t *testing.T, path string) []obj {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(b))
}

// field walks o along path; nil when something on the way is missing.
func field(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(map[string]any)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func str(o any, path ...string) string { s, _ := field(o, path...).(string); return s }

func find(t *testing.T, objs []obj, kind, name string) obj {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == kind && str(o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s %q among the rendered objects", kind, name)
	return nil
}

func ofKind(objs []obj, kind string) []obj {
	var out []obj
	for _, o := range objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// container returns the only container of a Deployment.
func container(t *testing.T, deploy obj) map[string]any {
	t.Helper()
	cs, _ := field(deploy, "spec", "template", "spec", "containers").([]any)
	if len(cs) != 1 {
		t.Fatalf("want one container in %s, got %d", str(deploy, "metadata", "name"), len(cs))
	}
	return cs[0].(map[string]any)
}

// args returns a container's arguments as flag name → value ("true" for a bare flag).
func args(t *testing.T, c map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range c["args"].([]any) {
		s := strings.TrimLeft(a.(string), "-")
		name, value, ok := strings.Cut(s, "=")
		if !ok {
			value = "true"
		}
		out[name] = value
	}
	return out
}

// rules flattens RBAC rules into a sorted set of "group/resource:verb" and
// "url:verb", so that two roles compare equal however their rules are grouped.
func rules(role obj) []string {
	var out []string
	each := func(v any) []string {
		var s []string
		for _, x := range asList(v) {
			s = append(s, x.(string))
		}
		return s
	}
	for _, r := range asList(role["rules"]) {
		for _, verb := range each(field(r, "verbs")) {
			for _, g := range each(field(r, "apiGroups")) {
				for _, res := range each(field(r, "resources")) {
					out = append(out, g+"/"+res+":"+verb)
				}
			}
			for _, u := range each(field(r, "nonResourceURLs")) {
				out = append(out, u+":"+verb)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func asList(v any) []any { l, _ := v.([]any); return l }

func writeValues(t *testing.T, values string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

var customValues = filepath.Join(root, "charts", "testdata", "values-custom.yaml")

func deepCopy(t *testing.T, o obj) obj {
	t.Helper()
	b, err := yaml.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var out obj
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
