package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/voipbin/registrar-operator/api/published"
)

// CacheOptions keeps the informers to what the reconcilers read: the fleet's objects
// and published ConfigMaps only in the registrar namespace (so a namespaced Role
// suffices), of its PodDisruptionBudgets only the fleet's (fleetObjects), of the
// cluster's Secrets only those the operator manages but the passwords it generates
// and the credentials it publishes (either is read from the API server when its
// Extension's credential must be derived again), and every object slimmed by
// slimForCache, to save memory at 100,000 Extensions.
func CacheOptions(o Options) cache.Options {
	only := map[string]cache.Config{o.RegistrarNamespace: {}}
	return cache.Options{
		DefaultTransform: slimForCache,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}:  {Namespaces: only},
			&appsv1.Deployment{}: {Namespaces: only},
			&corev1.Service{}:    {Namespaces: only},
			&corev1.Secret{}:     {Label: cachedSecrets()},
			// Watched only to restore the fleet's own: others are none of its business.
			&policyv1.PodDisruptionBudget{}: {Namespaces: only, Label: fleetObjects()},
		},
	}
}

// fleetObjects selects what the fleet reconciler makes, of any fleet name (isFleetObject).
func fleetObjects() labels.Selector {
	return labels.SelectorFromSet(labels.Set{published.LabelComponent: fleetComponent, published.LabelManagedBy: published.ManagedBy})
}

// cachedSecrets selects the Secrets the operator manages but the password Secrets it
// generates and the credential Secrets it publishes, one of each per Extension:
// watches of their own keep only what a reconcile reads of those (passwordVersions,
// credentialVersions).
func cachedSecrets() labels.Selector {
	req, err := labels.NewRequirement(published.LabelComponent, selection.NotIn, []string{componentPassword, published.ComponentCredential})
	if err != nil {
		panic(err) // constant, valid input
	}
	return managedSecrets(selection.Equals).Add(*req)
}

// managedSecrets selects the Secrets the operator manages (op Equals) or those it
// does not (op NotEquals, which also matches Secrets without the label).
func managedSecrets(op selection.Operator) labels.Selector {
	req, err := labels.NewRequirement(published.LabelManagedBy, op, []string{published.ManagedBy})
	if err != nil {
		panic(err) // constant, valid input
	}
	return labels.NewSelector().Add(*req)
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr manager.Manager, o Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if err := (&DomainReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Options: o, Recorder: mgr.GetEventRecorder("domain-controller")}).
		SetupWithManager(mgr); err != nil {
		return fmt.Errorf("while setting up the domain controller: %w", err)
	}
	ext := &ExtensionReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Options: o,
		Recorder: mgr.GetEventRecorder("extension-controller")}
	if err := ext.SetupWithManager(mgr); err != nil {
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
