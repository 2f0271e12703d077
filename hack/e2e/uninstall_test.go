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
// keeps the CRDs, and with them the Domains and Extensions, and leaves nothing else
// of the release behind, including what the operator created.
func TestUninstallKeepsCRDsOnly(t *testing.T) {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	helmRun(t, "uninstall", release, "-n", namespace, "--wait", "--timeout=3m")
	for _, crd := range []string{"domains.sip.voipbin.net", "extensions.sip.voipbin.net"} {
		kubectl(t, "get", "crd", crd)
	}
	kubectl(t, "-n", "default", "get", "extension", "acme-1001")
	if err := testenv.Eventually(2*time.Minute, func() error {
		left := kubectl(t, "-n", namespace, "get", "deployments,services,pods,secrets,configmaps,serviceaccounts,roles,rolebindings,leases",
			"-o", "name")
		var ours []string
		for _, name := range strings.Fields(left) {
			// Kubernetes puts these in every namespace.
			if name != "configmap/kube-root-ca.crt" && name != "serviceaccount/default" {
				ours = append(ours, name)
			}
		}
		cluster := kubectl(t, "get", "clusterroles,clusterrolebindings", "-o", "name")
		for _, name := range strings.Fields(cluster) {
			if strings.Contains(name, release) || strings.Contains(name, "/"+registrar) {
				ours = append(ours, name)
			}
		}
		if len(ours) > 0 {
			return fmt.Errorf("left behind after helm uninstall: %v", ours)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
