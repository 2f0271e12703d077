package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// setReady marks a resource Ready: kstatus reads it as Current once observedGeneration
// catches up.
func setReady(conds *[]metav1.Condition, gen int64, reason, msg string) {
	set(conds, gen, sipv1.ConditionReady, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, sipv1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, sipv1.ConditionStalled)
}

// setWaiting marks a resource not Ready for a reason that resolves without the user,
// such as a Domain created after its Extensions: kstatus reads InProgress.
func setWaiting(conds *[]metav1.Condition, gen int64, reason, msg string) {
	set(conds, gen, sipv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	set(conds, gen, sipv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, sipv1.ConditionStalled)
}

// setStalled marks a resource not Ready until the user changes something, such as a
// conflict or a missing password Secret: kstatus reads Failed, Argo CD Degraded.
func setStalled(conds *[]metav1.Condition, gen int64, reason, msg string) {
	set(conds, gen, sipv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	set(conds, gen, sipv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, sipv1.ConditionReconciling)
}

func set(conds *[]metav1.Condition, gen int64, typ string, st metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

// readyReason is the reason of the Ready condition, "" when there is none.
func readyReason(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, sipv1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

func isReady(conds []metav1.Condition) bool {
	return meta.IsStatusConditionTrue(conds, sipv1.ConditionReady)
}

// conditionChanged reports whether the condition typ differs between old and new in
// what an Extension shows of it: presence, status, reason or message.
func conditionChanged(old, new []metav1.Condition, typ string) bool {
	o, n := meta.FindStatusCondition(old, typ), meta.FindStatusCondition(new, typ)
	if o == nil || n == nil {
		return (o == nil) != (n == nil)
	}
	return o.Status != n.Status || o.Reason != n.Reason || o.Message != n.Message
}
