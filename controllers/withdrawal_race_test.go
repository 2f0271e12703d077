package controllers_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/controllers"
)

// Deleting an Extension (or a Domain) right after its first reconcile published its
// credential (config) leaves nothing behind, though the operator's watch of what it
// published may not have seen it yet: a credential left over would let the deleted
// user register. Each round deletes the object as soon as a direct read from the API
// server shows what it published, when that watch is most likely behind.
func TestDeletingRightAfterPublishingLeavesNothingBehind(t *testing.T) {
	ns := newNamespace(t)
	customer := "race-" + ns
	mustCreate(t, domain(ns, "d", customer))
	const rounds = 8
	for i := range rounds {
		number := strconv.Itoa(7000 + i)
		mustCreate(t, extension(ns, "e"+number, "d", number))
		publishedThenDelete(t, credential(customer, number), extension(ns, "e"+number, "d", number))
	}
	for i := range rounds {
		c := "race" + strconv.Itoa(i) + "-" + ns
		d := domain(ns, "d"+strconv.Itoa(i), c)
		mustCreate(t, d)
		cm := &corev1.ConfigMap{}
		cm.Namespace, cm.Name = registrarNS, published.DomainConfigMapName(c)
		publishedThenDelete(t, cm, domain(ns, d.Name, c))
	}
	eventually(t, "no credential of a deleted Extension left", func() error {
		if left := customerObjects(t, customer); len(left) > 1 { // the Domain's config
			return fmt.Errorf("left: %v", left)
		}
		return nil
	})
	eventually(t, "no config of a deleted Domain left", func() error {
		for i := range rounds {
			if left := customerObjects(t, "race"+strconv.Itoa(i)+"-"+ns); len(left) > 0 {
				return fmt.Errorf("left: %v", left)
			}
		}
		return nil
	})
}

// publishedThenDelete reads pub from the API server until it exists, as tightly as
// the API server answers (to a deadline), then deletes src at once.
func publishedThenDelete(t *testing.T, pub, src client.Object) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(wait)
	for {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(pub), pub)
		if err == nil {
			break
		}
		if client.IgnoreNotFound(err) != nil || time.Now().After(deadline) {
			t.Fatalf("%s %s never published: %v", src.GetName(), pub.GetName(), err)
		}
	}
	if err := k8s.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
}

// The Extension finalizer withdraws the credential it published though the watch of
// credentials has not seen it, and leaves alone a credential of the same source
// labels that the operator did not publish. The registrar namespace is one of the
// test's own, which the running operator does not touch.
func TestFinalizerWithdrawsACredentialTheWatchHasNotSeen(t *testing.T) {
	ctx := context.Background()
	ns, reg := newNamespace(t), newNamespace(t)
	e := extension(ns, "unseen", "none", "7101")
	mustCreate(t, e)
	ours := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: reg, Name: published.CredentialSecretName("c-"+ns, "7101"),
		Labels: map[string]string{
			published.LabelManagedBy: published.ManagedBy, published.LabelComponent: published.ComponentCredential,
			published.LabelCustomer: "c-" + ns, published.LabelSourceNS: ns, published.LabelSourceName: "unseen",
		}}}
	// Names the Extension as its source, but someone else's: not managed by the operator.
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: reg, Name: "not-ours",
		Labels: map[string]string{published.LabelSourceNS: ns, published.LabelSourceName: "unseen"}}}
	mustCreate(t, ours, foreign)

	o := opts
	o.RegistrarNamespace = reg
	if err := controllers.FinalizeExtensionUnwatched(ctx, k8s, o, e); err != nil {
		t.Fatal(err)
	}
	gone(t, ours)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Errorf("a Secret the operator did not publish: %v", err)
	}
}

// The Domain finalizer withdraws the config it published though the cache has not
// seen it, and leaves alone a ConfigMap of that name the operator did not publish.
func TestFinalizerWithdrawsAConfigTheCacheHasNotSeen(t *testing.T) {
	ctx := context.Background()
	ns, reg := newNamespace(t), newNamespace(t)
	o := opts
	o.RegistrarNamespace = reg
	source := map[string]string{published.LabelSourceNS: ns, published.LabelSourceName: "unseen"}
	ours := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: reg, Name: published.DomainConfigMapName("c-" + ns),
		Labels: map[string]string{published.LabelManagedBy: published.ManagedBy, published.LabelComponent: published.ComponentDomain,
			published.LabelCustomer: "c-" + ns, published.LabelSourceNS: ns, published.LabelSourceName: "unseen"}}}
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: reg, Name: published.DomainConfigMapName("f-" + ns), Labels: source}}
	mustCreate(t, ours, foreign)

	// Neither was created: the finalizer has no finalizer of the Domains' to remove.
	if err := controllers.FinalizeDomainUnwatched(ctx, k8s, o, domain(ns, "unseen", "c-"+ns)); err != nil {
		t.Fatal(err)
	}
	if err := controllers.FinalizeDomainUnwatched(ctx, k8s, o, domain(ns, "unseen", "f-"+ns)); err != nil {
		t.Fatal(err)
	}
	gone(t, ours)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Errorf("a ConfigMap the operator did not publish: %v", err)
	}
}
