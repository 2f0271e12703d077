package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// CacheOptions keeps the informers to what the reconcilers read: the fleet's objects
// and published ConfigMaps only in the registrar namespace (so a namespaced Role
// suffices), managed fields stripped to save memory at 100,000 Extensions.
func CacheOptions(o Options) cache.Options {
	only := map[string]cache.Config{o.RegistrarNamespace: {}}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}:  {Namespaces: only},
			&appsv1.Deployment{}: {Namespaces: only},
			&corev1.Service{}:    {Namespaces: only},
		},
	}
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr manager.Manager, o Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := (&DomainReconciler{Client: mgr.GetClient(), Options: o, Recorder: mgr.GetEventRecorder("domain-controller")}).
		SetupWithManager(mgr); err != nil {
		return fmt.Errorf("while setting up the domain controller: %w", err)
	}
	if err := (&ExtensionReconciler{Client: mgr.GetClient(), Options: o, Recorder: mgr.GetEventRecorder("extension-controller")}).
		SetupWithManager(mgr); err != nil {
		return fmt.Errorf("while setting up the extension controller: %w", err)
	}
	// The nonce key whatever --manage-registrar says: every registrar waits for it.
	if err := (&NonceKeyReconciler{Client: mgr.GetClient(), Options: o}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("while setting up the nonce key controller: %w", err)
	}
	if o.Fleet.Manage {
		if err := (&FleetReconciler{Client: mgr.GetClient(), Options: o}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("while setting up the registrar fleet controller: %w", err)
		}
	}
	return nil
}
