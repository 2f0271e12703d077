//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
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

// scenario is a SIPp scenario: ours in testdata, else one of the registrar's tests.
func scenario(name string) string {
	if _, err := os.Stat(filepath.Join("testdata", name)); err == nil {
		return filepath.Join("testdata", name)
	}
	return filepath.Join(root, "registrar", "testdata", "sipp", name)
}

// host is where SIPp runs: an address of the node, or of a network namespace that
// stands for a machine outside the cluster.
type host struct{ ip, netns string }

func node() host { return host{ip: c.nodeIP} }

// sippCmd is SIPp playing a scenario from h and the given local port to target, as
// the sample's extension, within limit.
func sippCmd(t *testing.T, h host, limit time.Duration, name, target string, localPort int, args ...string) (*exec.Cmd, *bytes.Buffer, func() string) {
	t.Helper()
	return sippIn(t.TempDir(), h, limit, name, target, localPort, args...)
}

// sippIn is sippCmd with SIPp's error file in dir. An argument "tcp" plays it over
// TCP instead of UDP.
func sippIn(dir string, h host, limit time.Duration, name, target string, localPort int, args ...string) (*exec.Cmd, *bytes.Buffer, func() string) {
	errFile := filepath.Join(dir, "errors.log")
	// A caller waits 10 s for each answer; a phone waits for its calls as long as it runs.
	recv := 10 * time.Second
	if limit > time.Minute {
		recv = limit
	}
	transport := "u1"
	if slices.Contains(args, "tcp") {
		transport, args = "t1", slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "tcp" })
	}
	all := append([]string{
		"-sf", scenario(name), "-t", transport, "-i", h.ip, "-p", strconv.Itoa(localPort),
		"-m", "1", "-nostdin", "-timeout", fmt.Sprintf("%ds", int(limit.Seconds())), "-timeout_error", "-recv_timeout", fmt.Sprintf("%ds", int(recv.Seconds())),
		"-au", user, "-ap", password, "-auth_uri", domain,
		"-key", "domain", domain, "-key", "user", user, "-key", "callee", user, "-key", "expires", "600",
		"-trace_err", "-error_file", errFile,
	}, args...)
	cmd := exec.Command("sipp", append(all, target)...)
	if h.netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", h.netns, "sipp"}, append(all, target)...)...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	report := func() string {
		errs, _ := os.ReadFile(errFile)
		return fmt.Sprintf("sipp %s to %s:\n%s\n%s", name, target, testenv.LastLines(out.String(), 15), errs)
	}
	return cmd, &out, report
}

// sipp plays one scenario to its end and fails the test with SIPp's errors when it fails.
func sipp(t *testing.T, h host, name, target string, localPort int, args ...string) {
	t.Helper()
	if err := sippRun(t, h, name, target, localPort, args...); err != nil {
		t.Fatal(err)
	}
}

// sippRun plays one scenario to its end and returns SIPp's errors when it fails.
func sippRun(t *testing.T, h host, name, target string, localPort int, args ...string) error {
	t.Helper()
	cmd, _, report := sippCmd(t, h, 30*time.Second, name, target, localPort, args...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, report())
	}
	return nil
}

// startSIPp starts a scenario in the background and returns a wait for its end.
func startSIPp(t *testing.T, h host, limit time.Duration, name, target string, localPort int, args ...string) func() error {
	t.Helper()
	cmd, _, report := sippCmd(t, h, limit, name, target, localPort, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("%w: %s", err, report())
		}
		return nil
	}
}

// registeredFrom waits until the extension holds a binding for the contact port, held
// by one of the registrar pods, and returns it.
func registeredFrom(t *testing.T, h host, localPort int) binding {
	t.Helper()
	contact := fmt.Sprintf("%s@%s:%d", user, h.ip, localPort)
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
	ip := clusterIP(t)
	sipp(t, node(), "register.xml", ip, 15061)
	b := registeredFrom(t, node(), 15061)
	t.Logf("source the registrar recorded through the ClusterIP %s: %s (pod %s)", ip, b.Source, b.Registrar)
	t.Logf("kubectl get extensions:\n%s", kubectl(t, "get", "extensions", "-A", "-o", "wide"))
}

// The same through the node port, as a phone outside the cluster would.
func TestRegisterThroughNodePort(t *testing.T) {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	port := kubectl(t, "-n", namespace, "get", "service", registrar,
		"-o", `jsonpath={.spec.ports[?(@.protocol=="UDP")].nodePort}`)
	if port == "" {
		t.Fatal("the registrar Service has no UDP node port")
	}
	sipp(t, node(), "register.xml", c.nodeIP+":"+port, 15062)
	b := registeredFrom(t, node(), 15062)
	t.Logf("source the registrar recorded through the node port %s:%s: %s (pod %s)", c.nodeIP, port, b.Source, b.Registrar)
}

// SIP over TCP through the node port from outside keeps the phone's address too
// (externalTrafficPolicy Local, the chart's default).
func TestRegisterOverTCPThroughNodePort(t *testing.T) {
	target := nodePort(t)
	sipp(t, c.outside, "register.xml", target, 15063, "tcp")
	b := registeredFrom(t, c.outside, 15063)
	t.Logf("MEASURED TCP through the node port %s from outside: source %s, transport %s (pod %s)", target, b.Source, b.Transport, b.Registrar)
	if !strings.HasPrefix(b.Source, c.outside.ip+":") || !strings.EqualFold(b.Transport, "tcp") {
		t.Errorf("binding %+v, want the phone's own address %s over TCP", b, c.outside.ip)
	}
}
