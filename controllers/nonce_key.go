package controllers

import (
	"context"
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/voipbin/registrar-operator/api/published"
)

// nonceKeyBytes is the size of the HMAC key registrars sign nonces with.
const nonceKeyBytes = 32

// NonceKeyReconciler publishes the nonce key every registrar replica waits for before
// it serves SIP. It runs whether or not the operator manages the registrar fleet: a
// registrar run by other means (--manage-registrar=false) needs the key all the same.
// Like every controller it runs only on the elected leader. The Secret rules of the
// extension controller (cluster-wide get, list, watch, create, update) cover it.
type NonceKeyReconciler struct {
	client.Client
	Options Options
}

// Reconcile creates the nonce key once. Its key is never rewritten: a new key would
// make every outstanding nonce stale at once. Deleted, it is created anew.
func (r *NonceKeyReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	key := r.key()
	have := &corev1.Secret{}
	if err := r.Get(ctx, key, have); !apierrors.IsNotFound(err) {
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("while reading the nonce key: %w", err)
		}
		return ctrl.Result{}, r.anchor(ctx, have)
	}
	k := make([]byte, nonceKeyBytes)
	_, _ = rand.Read(k)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace, Name: key.Name,
			Labels:          fleetLabels(r.Options, published.ComponentNonceKey),
			OwnerReferences: r.Options.ownerRefs(),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{published.KeyNonceKey: k},
	}
	if err := r.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, fmt.Errorf("while creating the nonce key: %w", err)
	}
	return ctrl.Result{}, nil
}

// anchor gives a nonce key an earlier release created the anchor's owner reference.
// A key someone else made (not labelled as the operator's) is theirs: left alone.
func (r *NonceKeyReconciler) anchor(ctx context.Context, s *corev1.Secret) error {
	if s.Labels[published.LabelManagedBy] != published.ManagedBy || !addOwnerRefs(s, r.Options.ownerRefs()...) {
		return nil
	}
	if err := r.Update(ctx, s); err != nil {
		return fmt.Errorf("while adding the owner anchor to the nonce key: %w", err)
	}
	return nil
}

func (r *NonceKeyReconciler) key() types.NamespacedName { return nonceKeyName(r.Options) }

func nonceKeyName(o Options) types.NamespacedName {
	return types.NamespacedName{Namespace: o.RegistrarNamespace, Name: published.NonceKeySecretName}
}

// SetupWithManager reconciles once at start and whenever someone changes or deletes
// the nonce key.
func (r *NonceKeyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	only := reconcile.Request{NamespacedName: r.key()}
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == only.Namespace && o.GetName() == only.Name
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("nonce-key").
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(only)
			return nil
		})).
		Watches(&corev1.Secret{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(ours)).
		Complete(r)
}
