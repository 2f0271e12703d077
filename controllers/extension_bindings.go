package controllers

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// pruneExpiredBindings removes the bindings whose lease has run out: the registrar
// that held them would have removed them itself, so it is gone. It returns the next
// lease expiry, when the Extension must be looked at again. Sets: status.bindings.
func (r *ExtensionReconciler) pruneExpiredBindings(ctx context.Context, ext *sipv1.Extension) (time.Time, error) {
	now := r.now()
	var next time.Time
	kept := ext.Status.Bindings[:0:0]
	for _, b := range ext.Status.Bindings {
		if !b.ExpiresAt.After(now) {
			continue
		}
		kept = append(kept, b)
		if next.IsZero() || b.ExpiresAt.Time.Before(next) {
			next = b.ExpiresAt.Time
		}
	}
	if len(kept) == len(ext.Status.Bindings) {
		return next, nil
	}
	ext.Status.Bindings = kept
	ext.Status.Contacts = int32(len(kept))
	if err := r.Status().Update(ctx, ext); err != nil {
		return next, fmt.Errorf("while pruning expired bindings: %w", err)
	}
	return next, nil
}

// requeueAt asks to be called again at t (never sooner than a second from now).
func requeueAt(t, now time.Time) ctrl.Result {
	if t.IsZero() {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: max(t.Sub(now), minRequeueAfter)}
}
