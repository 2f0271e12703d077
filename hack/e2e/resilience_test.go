//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// stillBound checks that the extension still holds the phone's binding.
func stillBound(t *testing.T, h host, port int) {
	t.Helper()
	contact := fmt.Sprintf("%s@%s:%d", user, h.ip, port)
	for _, b := range bindings(t, "acme-1001") {
		if strings.Contains(b.URI, contact) {
			return
		}
	}
	t.Fatalf("the binding of %s is gone: %+v", contact, bindings(t, "acme-1001"))
}

// A phone outside the cluster registers through the node port (externalTrafficPolicy
// Local, the chart's default, which keeps its address). Deleting the registrar pod that holds its
// binding, then a rolling update of the registrar Deployment (helm upgrade changes one
// registrar argument, the operator rolls the pods), loses no binding, and a MESSAGE
// and a call still reach the phone.
func TestBindingsSurvivePodDeletionAndRollingUpdate(t *testing.T) {
	target := nodePort(t) // externalTrafficPolicy Local: the chart's default
	id := callID(t)
	b, phone := registerPhone(t, c.outside, target, 15200, id)

	kubectl(t, "-n", namespace, "delete", "pod", b.Registrar, "--wait=true", "--timeout=2m")
	if err := registrarReady(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	stillBound(t, c.outside, 15200)

	before := kubectl(t, "-n", namespace, "get", "deployment", registrar, "-o", "jsonpath={.metadata.generation}")
	helmRun(t, append([]string{"upgrade", release, chart(), "-n", namespace, "--reuse-values",
		"--set", "registrar.extraArgs={--timer-c=3m20s}"}, imageValues()...)...)
	if err := testenv.Eventually(2*time.Minute, func() error {
		args := kubectl(t, "-n", namespace, "get", "deployment", registrar, "-o", "jsonpath={.spec.template.spec.containers[0].args}")
		if !strings.Contains(args, "--timer-c=3m20s") {
			return fmt.Errorf("registrar args %s, want --timer-c=3m20s after helm upgrade", args)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, operatorLogs())
	}
	if err := registrarReady(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	after := kubectl(t, "-n", namespace, "get", "deployment", registrar, "-o", "jsonpath={.metadata.generation}")
	t.Logf("registrar Deployment generation %s before the upgrade, %s after; pods now %v", before, after, registrarPods(t))
	stillBound(t, c.outside, 15200)
	callPhone(t, c.outside, target, 15200, id, phone)
}

// Deleting the operator pod does not stop registrations: the registrar pods answer
// and record bindings on their own while the operator's replacement starts.
func TestRegistrationsContinueWithoutOperator(t *testing.T) {
	target := clusterIP(t)
	kubectl(t, "-n", namespace, "delete", "pod", "-l", "app.kubernetes.io/component=operator",
		"--wait=true", "--timeout=2m")
	sipp(t, node(), "register.xml", target, 15300)
	registeredFrom(t, node(), 15300)
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+release, "--timeout=3m")
}

// With two operator replicas (helm upgrade --set replicas=2), one holds the leader
// lease; when its pod is deleted the other takes over and reconciles: it puts back a
// registrar Deployment scaled by hand.
func TestOperatorLeaderElectionWithTwoReplicas(t *testing.T) {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	helmRun(t, append([]string{"upgrade", release, chart(), "-n", namespace, "--reuse-values",
		"--set", "replicas=2"}, imageValues()...)...)
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+release, "--timeout=3m")
	operators := func() []string {
		return strings.Fields(kubectl(t, "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/component=operator",
			"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}"))
	}
	leader := func() string {
		holder := kubectl(t, "-n", namespace, "get", "lease", "registrar-operator.sip.voipbin.net", "-o", "jsonpath={.spec.holderIdentity}")
		pod, _, _ := strings.Cut(holder, "_")
		return pod
	}
	var first string
	if err := testenv.Eventually(2*time.Minute, func() error {
		first = leader()
		if pods := operators(); len(pods) != 2 || !slices.Contains(pods, first) {
			return fmt.Errorf("operator pods %v, leader %q: want two pods, one of them leading", pods, first)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "-n", namespace, "delete", "pod", first, "--wait=true", "--timeout=2m")
	if err := testenv.Eventually(3*time.Minute, func() error {
		if now := leader(); now == first || !slices.Contains(operators(), now) {
			return fmt.Errorf("leader %q after deleting %s", now, first)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, operatorLogs())
	}
	t.Logf("leader %s deleted, %s took over", first, leader())
	kubectl(t, "-n", namespace, "scale", "deployment", registrar, "--replicas=3")
	if err := registrarReady(2 * time.Minute); err != nil {
		t.Fatalf("the new leader did not put the registrar Deployment back: %v", err)
	}
}
