package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// userPasswordSecrets watches the Secrets the operator does not manage, which is
// where users keep the passwords their Extensions refer to, for their metadata only:
// a change brings the Extensions that refer to the Secret back, and they read it
// from the API server. The cluster's other Secrets (TLS keys, Helm releases, tokens)
// so cost the operator their metadata, not their data. The informer is its own
// cache, because the manager's caches one kind of object one way.
func (r *ExtensionReconciler) userPasswordSecrets(mgr ctrl.Manager) (source.Source, error) {
	others, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient:           mgr.GetHTTPClient(),
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultLabelSelector: managedSecrets(selection.NotEquals),
		DefaultTransform:     slimForCache,
	})
	if err != nil {
		return nil, fmt.Errorf("while creating the cache of password secrets: %w", err)
	}
	if err := mgr.Add(others); err != nil {
		return nil, fmt.Errorf("while adding the cache of password secrets: %w", err)
	}
	r.PasswordSecrets = others
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return source.Kind[client.Object](others, secret, handler.EnqueueRequestsFromMapFunc(r.extensionsUsingPassword)), nil
}
