//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// A phone that registered through the node port and has been silent since, for
// longer than conntrack remembers its flow, still gets a MESSAGE and a call. It runs
// among the last tests (Go runs a package's files in name order), so that the others
// run while the phone is silent.
func TestCallsReachPhoneSilentForMinutes(t *testing.T) {
	if silentPhone.wait == nil {
		t.Fatal("the silent phone was not started (TestInstall failed)")
	}
	if wait := time.Until(silentPhone.registered.Add(silence())); wait > 0 {
		t.Logf("waiting %s more, so that the phone has been silent for %s", wait.Round(time.Second), silence())
		time.Sleep(wait) // the silence under test, not a wait for something to happen
	}
	callPhone(t, c.outside, silentPhone.target, silentPort, silentPhone.id, silentPhone.wait)
}

// The last test (Go runs the files of a package in name order): `helm uninstall`
// keeps the CRDs, and with them the Domains and Extensions, and removes the chart's
// objects; what the operator created stays, as the chart's README says, and the
// README's commands remove it, after which nothing of the release is left.
func TestUninstallKeepsCRDsOnly(t *testing.T) {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	helmRun(t, "uninstall", release, "-n", namespace, "--wait", "--timeout=3m")
	for _, crd := range []string{"domains.sip.voipbin.net", "extensions.sip.voipbin.net"} {
		kubectl(t, "get", "crd", crd)
	}
	kubectl(t, "-n", "default", "get", "extension", "acme-1001")

	// Only what the operator made is left: labelled as its own, or its leader lease.
	leftovers := func() []string {
		var left []string
		names := kubectl(t, "-n", namespace, "get", "deployments,services,secrets,configmaps,serviceaccounts,roles,rolebindings,leases",
			"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.labels.app\.kubernetes\.io/managed-by} {end}`)
		for _, entry := range strings.Fields(names) {
			name, managedBy, _ := strings.Cut(entry, "=")
			switch {
			case name == "ConfigMap/kube-root-ca.crt" || name == "ServiceAccount/default": // in every namespace
			case managedBy == "Helm":
				t.Errorf("%s of the chart left behind by helm uninstall", name)
			default:
				left = append(left, name+"="+managedBy)
			}
		}
		for _, name := range strings.Fields(kubectl(t, "get", "clusterroles,clusterrolebindings", "-o", "name")) {
			if strings.Contains(name, release) || strings.HasSuffix(name, "/"+registrar) {
				t.Errorf("%s of the chart left behind by helm uninstall", name)
			}
		}
		return left
	}
	for _, name := range leftovers() {
		if !strings.HasSuffix(name, "=registrar-operator") && name != "Lease/registrar-operator.sip.voipbin.net=" {
			t.Errorf("%s left behind, neither labelled as the operator's nor its leader lease", name)
		}
	}
	t.Logf("left by the operator, as documented: %v", leftovers())

	// The chart README's cleanup.
	kubectl(t, "-n", namespace, "delete", "deploy,svc,cm,secret", "-l", "app.kubernetes.io/managed-by=registrar-operator", "--wait=true")
	kubectl(t, "-n", namespace, "delete", "lease", "registrar-operator.sip.voipbin.net")
	if err := testenv.Eventually(2*time.Minute, func() error {
		if left := leftovers(); len(left) > 0 {
			return fmt.Errorf("left after the README's cleanup: %v", left)
		}
		pods := kubectl(t, "-n", namespace, "get", "pods", "-o", "name")
		if pods != "" {
			return fmt.Errorf("pods left: %s", pods)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
