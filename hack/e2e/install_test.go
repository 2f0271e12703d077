//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	startSilentPhone(t)
}

var (
	installOnce sync.Once
	installErr  error
)

// installed installs the chart and the samples once; every test that needs them calls it.
func installed() error {
	installOnce.Do(func() { installErr = install() })
	return installErr
}

func install() error {
	if _, err := run(helm, append([]string{"--kubeconfig", c.kubeconfig, "install", release, chart(),
		"-n", namespace, "--create-namespace", "--set", "registrar.serviceType=NodePort"}, imageValues()...)...); err != nil {
		return err
	}
	if _, err := c.kubectl("-n", namespace, "rollout", "status", "deployment/"+release, "--timeout=5m"); err != nil {
		return fmt.Errorf("%w\n%s", err, operatorLogs())
	}
	if err := registrarReady(3 * time.Minute); err != nil {
		return err
	}
	ports, err := c.kubectl("-n", namespace, "get", "service", registrar,
		"-o", `jsonpath={range .spec.ports[*]}{.protocol}/{.port} {end}`)
	if err != nil {
		return err
	}
	if !strings.Contains(ports, "UDP/"+sipPort) || !strings.Contains(ports, "TCP/"+sipPort) {
		return fmt.Errorf("registrar Service ports %q, want SIP over UDP and TCP on %s", ports, sipPort)
	}
	if _, err := c.kubectl("apply", "-n", "default", "-k", root+"/config/samples"); err != nil {
		return err
	}
	if err := testenv.Eventually(2*time.Minute, func() error {
		out, err := c.kubectl("-n", "default", "get", "extension", "acme-1001",
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out != "True" {
			err = fmt.Errorf("Extension acme-1001 Ready=%q", out)
		}
		return err
	}); err != nil {
		return fmt.Errorf("%w\n%s", err, operatorLogs())
	}
	return nil
}

// registrarReady waits until the operator's registrar Deployment has rolled out all
// of its 2 replicas, each Ready through its own probes.
func registrarReady(timeout time.Duration) error {
	return testenv.Eventually(timeout, func() error {
		out, err := c.kubectl("-n", namespace, "get", "deployment", registrar, "-o",
			`jsonpath={.status.observedGeneration}={.metadata.generation} {.status.updatedReplicas}/{.status.readyReplicas}/{.status.replicas}`)
		if err != nil {
			return fmt.Errorf("no registrar Deployment: %w\n%s", err, operatorLogs())
		}
		gens, counts, _ := strings.Cut(out, " ")
		gen, want, _ := strings.Cut(gens, "=")
		if gen != want || counts != "2/2/2" {
			return fmt.Errorf("registrar Deployment generation observed=wanted %s, updated/ready/total %s, want 2/2/2", gens, counts)
		}
		return nil
	})
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
