//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// The sample's extension (config/samples) and its password.
const (
	user     = "1001"
	domain   = "acme.registrar.voipbin.net"
	password = "change-me-1001"
)

// sipp plays one scenario of registrar/testdata/sipp from the node's address and the
// given local port to target, and fails the test with SIPp's errors when it fails.
func sipp(t *testing.T, scenario, target string, localPort int, args ...string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	all := append([]string{
		"-sf", filepath.Join(root, "registrar", "testdata", "sipp", scenario),
		"-t", "u1", "-i", c.nodeIP, "-p", strconv.Itoa(localPort),
		"-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-recv_timeout", "10s",
		"-au", user, "-ap", password, "-auth_uri", domain,
		"-key", "domain", domain, "-key", "user", user, "-key", "expires", "600",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
	}, args...)
	cmd := exec.CommandContext(ctx, "sipp", append(all, target)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		errs, _ := exec.Command("cat", filepath.Join(dir, "errors.log")).Output()
		t.Fatalf("sipp %s to %s: %v\n%s\n%s", scenario, target, err, lastLines(out.String(), 15), errs)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// registeredFrom waits until the extension holds a binding for the contact port, held
// by one of the registrar pods, and returns it.
func registeredFrom(t *testing.T, localPort int) binding {
	t.Helper()
	contact := fmt.Sprintf("%s@%s:%d", user, c.nodeIP, localPort)
	var found binding
	if err := testenv.Eventually(30*time.Second, func() error {
		for _, b := range bindings(t, "acme-1001") {
			if strings.Contains(b.URI, contact) {
				found = b
				return nil
			}
		}
		return fmt.Errorf("no binding for %s in %+v", contact, bindings(t, "acme-1001"))
	}); err != nil {
		t.Fatal(err)
	}
	if pods := registrarPods(t); !slices.Contains(pods, found.Registrar) {
		t.Fatalf("binding %+v is held by %q, not one of the registrar pods %v", found, found.Registrar, pods)
	}
	return found
}

// A phone on the node registers through the registrar Service's ClusterIP, and
// `kubectl get extensions` shows the binding and the pod that holds it.
func TestRegisterThroughClusterIP(t *testing.T) {
	ip := kubectl(t, "-n", namespace, "get", "service", registrar, "-o", "jsonpath={.spec.clusterIP}")
	sipp(t, "register.xml", ip+":"+sipPort, 15061)
	b := registeredFrom(t, 15061)
	t.Logf("source the registrar recorded through the ClusterIP %s: %s (pod %s)", ip, b.Source, b.Registrar)
	t.Logf("kubectl get extensions:\n%s", kubectl(t, "get", "extensions", "-A", "-o", "wide"))
}

// The same through the node port, as a phone outside the cluster would.
func TestRegisterThroughNodePort(t *testing.T) {
	port := kubectl(t, "-n", namespace, "get", "service", registrar,
		"-o", `jsonpath={.spec.ports[?(@.protocol=="UDP")].nodePort}`)
	if port == "" {
		t.Fatal("the registrar Service has no UDP node port")
	}
	sipp(t, "register.xml", c.nodeIP+":"+port, 15062)
	b := registeredFrom(t, 15062)
	t.Logf("source the registrar recorded through the node port %s:%s: %s (pod %s)", c.nodeIP, port, b.Source, b.Registrar)
}
