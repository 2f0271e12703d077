package controllers_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

// The samples a newcomer applies become a Ready Domain and Extension whose credential
// holds HA1 values and no password, and deleting them leaves nothing behind.
func TestSamplesBecomeReadyAndLeaveNothingBehind(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	dir := filepath.Join(testenv.Root(), "config", "samples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if strings.HasSuffix(f, "kustomization.yaml") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&u.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		u.SetNamespace(ns)
		mustCreate(t, u)
		objs = append(objs, u)
	}

	d := &sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"}}
	e := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme-1001"}}
	readyIs(t, d, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	realm := "acme." + suffix
	if e.Status.AddressOfRecord != "1001@"+realm {
		t.Errorf("sample AOR %q", e.Status.AddressOfRecord)
	}
	cred := credentialFor(t, "acme", "1001", realm, "change-me-1001")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.DomainConfigMapName("acme")}}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatal(err)
	}
	for k, v := range cm.Data {
		if strings.Contains(v, "change-me-1001") {
			t.Errorf("published config %q holds the password", k)
		}
	}

	for _, o := range objs {
		if err := k8s.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	gone(t, e)
	gone(t, d)
	gone(t, cred)
	gone(t, cm)
}
