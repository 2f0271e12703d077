package controllers_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// An Extension of a Domain in conflict waits on the user as its Domain does: it is
// Stalled (kstatus Failed, Argo CD Degraded), naming the Domain and its reason, not
// in progress for ever. Once the winning Domain goes, it becomes Ready by itself.
func TestExtensionOfAStalledDomainIsStalled(t *testing.T) {
	ctx := context.Background()
	ns1, ns2 := newNamespace(t), newNamespace(t)
	customer := "stall-" + ns1
	winner := domain(ns1, "a", customer)
	mustCreate(t, winner)
	readyIs(t, winner, metav1.ConditionTrue, sipv1.ReasonReady)

	loser, e := domain(ns2, "b", customer), extension(ns2, "e", "b", "1001")
	mustCreate(t, loser, e)
	readyIs(t, loser, metav1.ConditionFalse, sipv1.ReasonConflict)
	readyIs(t, e, metav1.ConditionFalse, sipv1.ReasonDomainStalled)
	stalled := meta.FindStatusCondition(e.Status.Conditions, sipv1.ConditionStalled)
	if stalled == nil || stalled.Status != metav1.ConditionTrue {
		t.Errorf("Stalled condition %+v, want True", stalled)
	} else if !strings.Contains(stalled.Message, `"b"`) || !strings.Contains(stalled.Message, sipv1.ReasonConflict) {
		t.Errorf("Stalled message %q names neither the Domain nor its reason", stalled.Message)
	}
	if c := meta.FindStatusCondition(e.Status.Conditions, sipv1.ConditionReconciling); c != nil {
		t.Errorf("Reconciling condition %+v beside Stalled", c)
	}

	if err := k8s.Delete(ctx, winner); err != nil {
		t.Fatal(err)
	}
	readyIs(t, loser, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
}

// A customer ID moving to a Domain of another namespace brings that Domain's
// Extension of the same number to Ready, though the credential of the first
// Domain's Extension outlived the move (here held by a finalizer of someone else's,
// as a slow deletion would) and put it in Conflict meanwhile: the credential's
// deletion retries it.
func TestExtensionBlockedByAnotherNamespacesCredentialRecoversWhenItGoes(t *testing.T) {
	ctx := context.Background()
	ns1, ns2 := newNamespace(t), newNamespace(t)
	customer := "move-" + ns1
	a, e1 := domain(ns1, "a", customer), extension(ns1, "e", "a", "1001")
	mustCreate(t, a, e1)
	readyIs(t, e1, metav1.ConditionTrue, sipv1.ReasonReady)
	b, e2 := domain(ns2, "b", customer), extension(ns2, "e", "b", "1001")
	mustCreate(t, b, e2)
	readyIs(t, e2, metav1.ConditionFalse, sipv1.ReasonDomainStalled)

	const hold = "test.sip.voipbin.net/hold"
	cred := credential(customer, "1001")
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred); err != nil {
		t.Fatal(err)
	}
	orig := cred.DeepCopy()
	controllerutil.AddFinalizer(cred, hold)
	if err := k8s.Patch(ctx, cred, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}

	if err := k8s.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	readyIs(t, b, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, e2, metav1.ConditionFalse, sipv1.ReasonConflict)

	orig = cred.DeepCopy()
	controllerutil.RemoveFinalizer(cred, hold)
	if err := k8s.Patch(ctx, cred, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	readyIs(t, e2, metav1.ConditionTrue, sipv1.ReasonReady)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cred), cred); err != nil {
		t.Fatal(err)
	}
	if cred.Labels[published.LabelSourceNS] != ns2 {
		t.Errorf("the credential is published from %s, want %s", cred.Labels[published.LabelSourceNS], ns2)
	}
}
