//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/api/published"
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
// keeps the CRDs, and with them the user's Domains, Extensions and password Secrets
// (in their own namespaces: the user made them, and an Extension owns the password
// Secret the operator generated for it), and leaves nothing else. What the operator
// created in the release namespace (the registrar Deployment and Service, the nonce
// key, the published ConfigMaps and credential Secrets, its leader Lease) is owned by
// the chart's owner anchor, and Kubernetes' garbage collector deletes it with the
// anchor. It even deletes what the operator creates anew once the anchor is gone, as
// it may in the seconds it still runs during an uninstall: the test deletes the
// anchor first, sees the operator recreate the nonce key, and then uninstalls.
func TestUninstallKeepsCRDsOnly(t *testing.T) {
	if err := installed(); err != nil {
		t.Fatal(err)
	}
	anchor := release + "-owner" // the chart's owner anchor
	anchorUID := kubectl(t, "-n", namespace, "get", "configmap", anchor, "-o", "jsonpath={.metadata.uid}")
	nonceKey := func() (uid, owner string) {
		out, _ := c.kubectl("-n", namespace, "get", "secret", published.NonceKeySecretName,
			"-o", "jsonpath={.metadata.uid} {.metadata.ownerReferences[*].uid}")
		uid, owner, _ = strings.Cut(out, " ")
		return uid, owner
	}
	firstKey, owner := nonceKey()
	if owner != anchorUID {
		t.Fatalf("the nonce key's owners %q, want the anchor %s", owner, anchorUID)
	}

	kubectl(t, "-n", namespace, "delete", "configmap", anchor, "--wait=true")
	if err := testenv.Eventually(2*time.Minute, func() error {
		uid, owner := nonceKey()
		if uid == "" || uid == firstKey {
			return fmt.Errorf("the operator has not recreated the nonce key %s after the garbage collector deleted it", firstKey)
		}
		if owner != anchorUID {
			return fmt.Errorf("the recreated nonce key's owners %q, want the deleted anchor %s", owner, anchorUID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	helmRun(t, "uninstall", release, "-n", namespace, "--wait", "--timeout=3m")
	for _, crd := range []string{"domains.sip.voipbin.net", "extensions.sip.voipbin.net"} {
		kubectl(t, "get", "crd", crd)
	}
	kubectl(t, "-n", "default", "get", "domain/acme", "extension/acme-1001", "secret/acme-1001-password")

	// Every kind a namespace holds, but events (they expire by themselves) and the
	// deprecated Endpoints (kubectl warns on them; EndpointSlices stand for them).
	var kinds []string
	for _, kind := range strings.Fields(kubectl(t, "api-resources", "--verbs=list", "--namespaced", "-o", "name")) {
		if kind != "events" && kind != "events.events.k8s.io" && kind != "endpoints" {
			kinds = append(kinds, kind)
		}
	}
	leftovers := func() []string {
		var left []string
		for _, name := range strings.Fields(kubectl(t, "-n", namespace, "get", strings.Join(kinds, ","), "-o", "name")) {
			if name != "configmap/kube-root-ca.crt" && name != "serviceaccount/default" { // in every namespace
				left = append(left, name)
			}
		}
		for _, name := range strings.Fields(kubectl(t, "get", "clusterroles,clusterrolebindings", "-o", "name")) {
			if strings.Contains(name, release) || strings.HasSuffix(name, "/"+registrar) {
				left = append(left, name)
			}
		}
		return left
	}
	if err := testenv.Eventually(2*time.Minute, func() error {
		if left := leftovers(); len(left) > 0 {
			return fmt.Errorf("left after helm uninstall: %v", left)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
