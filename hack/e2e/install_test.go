//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

const (
	release   = "registrar-operator"
	namespace = "registrar-system"
	registrar = "registrar" // the chart's registrar.name
	sipPort   = "5060"
)

func helmRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(helm, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// imageValues points the chart at the image make e2e built (its default, unless IMG
// names another).
func imageValues() []string {
	repo, tag := image[:strings.LastIndex(image, ":")], image[strings.LastIndex(image, ":")+1:]
	return []string{"--set", "image.repository=" + repo, "--set", "image.tag=" + tag}
}

// A user installs the chart and the samples: the operator pod becomes Ready and runs
// the registrar Deployment, whose two pods become Ready through their own probes
// under the chart's restricted security context, behind their Service.
func TestInstall(t *testing.T) {
	helmRun(t, append([]string{"install", release, chart(), "-n", namespace, "--create-namespace",
		"--set", "registrar.serviceType=NodePort"}, imageValues()...)...)
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+release, "--timeout=5m")

	if err := testenv.Eventually(2*time.Minute, func() error {
		_, err := c.kubectl("-n", namespace, "get", "deployment", registrar)
		return err
	}); err != nil {
		t.Fatalf("the operator created no registrar Deployment: %v\n%s", err, operatorLogs())
	}
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+registrar, "--timeout=5m")
	ready := kubectl(t, "-n", namespace, "get", "deployment", registrar, "-o", "jsonpath={.status.readyReplicas}")
	if ready != "2" {
		t.Fatalf("registrar Deployment has %q ready replicas, want 2", ready)
	}
	ports := kubectl(t, "-n", namespace, "get", "service", registrar,
		"-o", `jsonpath={range .spec.ports[*]}{.protocol}/{.port} {end}`)
	if !strings.Contains(ports, "UDP/"+sipPort) || !strings.Contains(ports, "TCP/"+sipPort) {
		t.Fatalf("registrar Service ports %q, want SIP over UDP and TCP on %s", ports, sipPort)
	}

	kubectl(t, "apply", "-n", "default", "-k", root+"/config/samples")
	if err := testenv.Eventually(2*time.Minute, func() error {
		out, err := c.kubectl("-n", "default", "get", "extension", "acme-1001",
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out != "True" {
			err = fmt.Errorf("Extension acme-1001 Ready=%q", out)
		}
		return err
	}); err != nil {
		t.Fatalf("%v\n%s", err, operatorLogs())
	}
}

func operatorLogs() string {
	out, _ := c.kubectl("-n", namespace, "logs", "deployment/"+release, "--tail=30")
	return out
}

// binding is what `kubectl get extension -o json` says of one registered contact.
type binding struct {
	URI, Registrar, Source, Transport string
	Expires                           int
}

func bindings(t *testing.T, name string) []binding {
	t.Helper()
	var ext struct {
		Status struct{ Bindings []binding }
	}
	if err := json.Unmarshal([]byte(kubectl(t, "-n", "default", "get", "extension", name, "-o", "json")), &ext); err != nil {
		t.Fatal(err)
	}
	return ext.Status.Bindings
}

// registrarPods are the names of the registrar pods that run now.
func registrarPods(t *testing.T) []string {
	out := kubectl(t, "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name="+registrar,
		"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
	return strings.Fields(out)
}
