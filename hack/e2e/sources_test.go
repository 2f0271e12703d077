//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// setTrafficPolicy sets the registrar Service's externalTrafficPolicy the way a user
// does, through the chart (the operator keeps the Service as its flags say), and waits
// until kube-proxy has programmed it.
func setTrafficPolicy(t *testing.T, policy string) {
	t.Helper()
	helmRun(t, append([]string{"upgrade", release, chart(), "-n", namespace, "--reuse-values",
		"--set", "registrar.externalTrafficPolicy=" + policy}, imageValues()...)...)
	if err := testenv.Eventually(2*time.Minute, func() error {
		got := kubectl(t, "-n", namespace, "get", "service", registrar, "-o", "jsonpath={.spec.externalTrafficPolicy}")
		if got != policy {
			return fmt.Errorf("registrar Service externalTrafficPolicy %q, want %q", got, policy)
		}
		// With Local, kube-proxy sends outside traffic through a KUBE-SVL chain of
		// the node's own endpoints, which Cluster has none of.
		rules, err := run("iptables-save", "-t", "nat")
		if err != nil {
			return err
		}
		local := false
		for _, line := range strings.Split(rules, "\n") {
			if strings.HasPrefix(line, "-A KUBE-SVL-") && strings.Contains(line, namespace+"/"+registrar+":sip-udp") {
				local = true
			}
		}
		if local != (policy == "Local") {
			return fmt.Errorf("kube-proxy has not programmed externalTrafficPolicy %s yet", policy)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, operatorLogs())
	}
}

// What the registrar records as a phone's source, and whether a MESSAGE still reaches
// the phone once conntrack has forgotten the flow of its REGISTER, for each way a
// phone reaches the Service. Only a path that keeps the phone's own address keeps
// NAT traversal, per-source throttling and calls working: the test requires it of
// externalTrafficPolicy Local and reports the others.
func TestSourceAddressesPerServiceMode(t *testing.T) {
	out := c.outside
	modes := []struct {
		name, policy string
		from         host
		target       func(*testing.T) string
		port         int
		mustKeep     bool // the phone's address must survive and calls must reach it
	}{
		{"ClusterIP from the node", "Cluster", node(), clusterIP, 15100, false},
		{"NodePort externalTrafficPolicy Cluster from outside", "Cluster", out, nodePort, 15110, false},
		{"NodePort externalTrafficPolicy Local from outside", "Local", out, nodePort, 15120, true},
	}
	defer setTrafficPolicy(t, "Local") // the chart's default
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			setTrafficPolicy(t, m.policy)
			target, id := m.target(t), callID(t)
			b, phone := registerPhone(t, m.from, target, m.port, id)
			kept := strings.HasPrefix(b.Source, m.from.ip+":")
			forgetFlows(t, m.port)
			err := sippRun(t, m.from, "uac-message.xml", target, m.port+1, "-cid_str", id)
			t.Logf("MEASURED %s: source %s (phone %s:%d, address kept: %v); MESSAGE after conntrack forgot the flow reached the phone: %v",
				m.name, b.Source, m.from.ip, m.port, kept, err == nil)
			if !m.mustKeep {
				return
			}
			if !kept {
				t.Errorf("source %s, want the phone's own address %s", b.Source, m.from.ip)
			}
			if err != nil {
				t.Fatalf("the MESSAGE did not reach the phone once conntrack forgot its flow: %v", err)
			}
			sipp(t, m.from, "uac-call.xml", target, m.port+2, "-cid_str", id)
			if err := phone(); err != nil {
				t.Fatalf("the phone did not take the call: %v", err)
			}
		})
	}
}
