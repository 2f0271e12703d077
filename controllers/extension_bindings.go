package controllers

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// pruneExpiredBindings removes the bindings whose lease has run out: the registrar
// that held them would have removed them itself, so it is gone. It returns the next
// lease expiry, when the Extension must be looked at again. The cache holds only the
// leases (leaseOnly), so the bindings are rewritten from the API server's copy, under
// its resourceVersion. Sets: status.bindings.
func (r *ExtensionReconciler) pruneExpiredBindings(ctx context.Context, ext *sipv1.Extension) (time.Time, error) {
	now := r.now()
	kept, next := unexpired(ext.Status.Bindings, now)
	if len(kept) == len(ext.Status.Bindings) {
		return next, nil
	}
	fresh := &sipv1.Extension{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ext), fresh); err != nil {
		return next, fmt.Errorf("while reading the bindings to prune: %w", err)
	}
	kept, next = unexpired(fresh.Status.Bindings, now)
	if len(kept) != len(fresh.Status.Bindings) {
		fresh.Status.Bindings = kept
		fresh.Status.Contacts = int32(len(kept))
		if err := r.Status().Update(ctx, fresh); err != nil {
			return next, fmt.Errorf("while pruning expired bindings: %w", err)
		}
	}
	ext.Status.Bindings = leaseOnly(kept)
	ext.Status.Contacts = int32(len(kept))
	return next, nil
}

// unexpired returns the bindings whose lease runs past now, and the soonest end.
func unexpired(bs []sipv1.Binding, now time.Time) (kept []sipv1.Binding, next time.Time) {
	kept = bs[:0:0]
	for _, b := range bs {
		if !b.ExpiresAt.After(now) {
			continue
		}
		kept = append(kept, b)
		if next.IsZero() || b.ExpiresAt.Time.Before(next) {
			next = b.ExpiresAt.Time
		}
	}
	return kept, next
}

// requeueAt asks to be called again at t (never sooner than a second from now).
func requeueAt(t, now time.Time) ctrl.Result {
	if t.IsZero() {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: max(t.Sub(now), minRequeueAfter)}
}
