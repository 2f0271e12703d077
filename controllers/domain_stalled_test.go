package controllers_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
