package controllers_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

// TestOperatorCachesOnlyItsOwnSecrets: a cluster's other Secrets (here a Helm
// release's 512 KiB) do not sit in the operator's memory; the nonce key it publishes
// does (the generated passwords and published credentials do not:
// TestGeneratedPasswordSecretsAreNotCached, TestOperatorCachesNoPasswordOrCredentialData).
func TestOperatorCachesOnlyItsOwnSecrets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := newNamespace(t)
	release := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sh.helm.release.v1.pbx.v1"},
		Data: map[string][]byte{"release": make([]byte, 512<<10)}}
	e := extension(ns, "alice", "d", "1001")
	mustCreate(t, release, domain(ns, "d", "cache-"+ns), e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)

	o := controllers.CacheOptions(opts)
	o.Scheme = scheme.New()
	c, err := cache.New(env.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if _, err := c.GetInformer(ctx, &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	nonceKey := client.ObjectKey{Namespace: registrarNS, Name: published.NonceKeySecretName}
	if err := c.Get(ctx, nonceKey, &corev1.Secret{}); err != nil {
		t.Errorf("the nonce key is not in the operator's cache: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(release), &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the operator's cache holds a Secret it does not manage (err %v)", err)
	}
}

// TestSecretOfTheGeneratedNameNotMadeByTheOperatorConflicts: a Secret the operator
// does not cache, under the name it would generate, is reported, not taken.
func TestSecretOfTheGeneratedNameNotMadeByTheOperatorConflicts(t *testing.T) {
	ns := newNamespace(t)
	e := extension(ns, "carol", "d", "1003")
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.GeneratedPasswordSecretName(e.Name)},
		Data: map[string][]byte{controllers.GeneratedPasswordKey: []byte("theirs-Secret-1")}}
	d := domain(ns, "d", "gen-"+ns)
	mustCreate(t, theirs, d, e)
	readyIs(t, d, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, e, metav1.ConditionFalse, sipv1.ReasonConflict)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(theirs), theirs); err != nil {
		t.Fatal(err)
	}
	if string(theirs.Data[controllers.GeneratedPasswordKey]) != "theirs-Secret-1" {
		t.Error("the operator rewrote a Secret it did not make")
	}
}
