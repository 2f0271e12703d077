package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

// anchorName is the owner anchor of the test operator, as the chart names one.
const anchorName = "registrar-operator-owner"

func createAnchor(ctx context.Context) (*metav1.OwnerReference, error) {
	if err := env.EnsureNamespace(ctx, registrarNS); err != nil {
		return nil, err
	}
	anchor := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: anchorName}}
	if err := k8s.Create(ctx, anchor); err != nil {
		return nil, fmt.Errorf("while creating the owner anchor: %w", err)
	}
	return controllers.OwnerAnchor(ctx, k8s, registrarNS, anchorName)
}

// anchored reports why obj lacks the anchor's owner reference, nil when it has it:
// neither controller nor blocking, and next to the owners it had.
func anchored(obj client.Object) error {
	for _, r := range obj.GetOwnerReferences() {
		if r.UID != opts.Anchor.UID {
			continue
		}
		if r.Kind != "ConfigMap" || r.APIVersion != "v1" || r.Name != anchorName {
			return fmt.Errorf("%T %s: owner reference %s %s/%s, want the anchor ConfigMap %s", obj, obj.GetName(), r.APIVersion, r.Kind, r.Name, anchorName)
		}
		if (r.Controller != nil && *r.Controller) || (r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion) {
			return fmt.Errorf("%T %s: the anchor's owner reference is a controller's or blocks deletion", obj, obj.GetName())
		}
		return nil
	}
	return fmt.Errorf("%T %s has no owner reference to the anchor (owners %v)", obj, obj.GetName(), obj.GetOwnerReferences())
}

// Everything the operator creates in the registrar namespace is owned by the chart's
// anchor, so that `helm uninstall`, deleting the anchor, leaves none of it (the
// garbage collector, which envtest lacks, is exercised by make e2e): the registrar
// Deployment and Service, the nonce key, a Domain's ConfigMap and an Extension's
// credential Secret. What an earlier release created without it (here: stripped of
// its owner references) gets it again, other owners kept.
func TestOperatorObjectsAreOwnedByTheAnchor(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	customer := "anchored-" + ns
	d, e := domain(ns, "anchored", customer), extension(ns, "alice", "anchored", "alice")
	mustCreate(t, d, e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)

	objs := []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: opts.Fleet.Name}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: opts.Fleet.Name}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.NonceKeySecretName}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.DomainConfigMapName(customer)}},
		credential(customer, "alice"),
	}
	for _, o := range objs {
		eventually(t, fmt.Sprintf("%T %s owned by the anchor", o, o.GetName()), func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return err
			}
			return anchored(o)
		})
	}

	// As an earlier release left them: no anchor, and an owner of someone else's.
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "someone-elses", UID: "0f0e0d0c-0000-4000-8000-000000000001"}
	for _, o := range objs {
		o.SetOwnerReferences([]metav1.OwnerReference{other})
		if err := k8s.Update(ctx, o); err != nil {
			t.Fatalf("while removing the anchor from %T %s: %v", o, o.GetName(), err)
		}
	}
	for _, o := range objs {
		eventually(t, fmt.Sprintf("%T %s owned by the anchor again", o, o.GetName()), func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return err
			}
			if err := anchored(o); err != nil {
				return err
			}
			for _, r := range o.GetOwnerReferences() {
				if r.UID == other.UID {
					return nil
				}
			}
			return fmt.Errorf("%T %s lost its other owner: %v", o, o.GetName(), o.GetOwnerReferences())
		})
	}
}

// The leader Lease is the anchor's too, whether the leader creates it or takes over
// one an earlier release held and released: elected, it carries the owner reference.
func TestLeaderLeaseIsOwnedByTheAnchor(t *testing.T) {
	ctx := context.Background()
	released := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: "released-by-an-earlier-release"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       new(""),
			LeaseDurationSeconds: new(int32(1)),
			RenewTime:            &metav1.MicroTime{Time: time.Now().Add(-time.Hour)},
		},
	}
	mustCreate(t, released)
	for _, name := range []string{"new-lease", released.Name} {
		t.Run(name, func(t *testing.T) {
			lock, err := controllers.LeaderLease(env.Config, registrarNS, name, *opts.Anchor)
			if err != nil {
				t.Fatal(err)
			}
			elected := make(chan struct{})
			elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
				Lock:          lock,
				LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: time.Second,
				ReleaseOnCancel: true,
				Callbacks: leaderelection.LeaderCallbacks{
					OnStartedLeading: func(context.Context) { close(elected) },
					OnStoppedLeading: func() {},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { elector.Run(runCtx); close(done) }()
			defer func() { stop(); <-done }()
			select {
			case <-elected:
			case <-time.After(wait):
				t.Fatalf("not elected within %s", wait)
			}
			lease := &coordinationv1.Lease{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: registrarNS, Name: name}, lease); err != nil {
				t.Fatal(err)
			}
			if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != lock.Identity() {
				t.Errorf("lease held by %v, want %s", lease.Spec.HolderIdentity, lock.Identity())
			}
			if err := anchored(lease); err != nil {
				t.Error(err)
			}
		})
	}
}
