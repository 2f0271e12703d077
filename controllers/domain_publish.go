package controllers

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// reconcilePublished writes the Domain's ConfigMap into the registrar namespace,
// touching it only when its content changes.
func (r *DomainReconciler) reconcilePublished(ctx context.Context, d *sipv1.Domain) error {
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: r.Options.RegistrarNamespace,
			Name:      published.DomainConfigMapName(d.Spec.CustomerID),
			Labels:    sourceLabels(published.ComponentDomain, d.Spec.CustomerID, d.Namespace, d.Name),
			// The Domain lives in another namespace: it cannot own it, the anchor can.
			OwnerReferences: r.Options.ownerRefs(),
		},
		Data: map[string]string{
			published.KeyConfigJSON: published.NewDomainConfig(d, r.Options.DomainSuffix).Encode(),
		},
	}
	// The conflict check made this Domain the customer's: it takes over a config left
	// by a claimant that is gone.
	_, err := publish(ctx, r.Client, d, want, &corev1.ConfigMap{}, true, func(have, want *corev1.ConfigMap) bool {
		if maps.Equal(have.Data, want.Data) {
			return false
		}
		have.Data = want.Data
		return true
	})
	return err
}

// publishedConfig returns the customer's published ConfigMap, nil when there is none.
func (r *DomainReconciler) publishedConfig(ctx context.Context, customerID string) client.Object {
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: r.Options.RegistrarNamespace, Name: published.DomainConfigMapName(customerID)}
	if err := r.Get(ctx, key, cm); err != nil {
		return nil
	}
	return cm
}

// withdrawPublished deletes the Domain's ConfigMap unless another Domain published it
// or the operator did not. It reads it from the API server, not the cache: the
// finalizer calls it, and a ConfigMap the previous reconcile created that the cache
// has not seen yet would be left behind for good.
func (r *DomainReconciler) withdrawPublished(ctx context.Context, d *sipv1.Domain) error {
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: r.Options.RegistrarNamespace, Name: published.DomainConfigMapName(d.Spec.CustomerID)}
	if err := r.APIReader.Get(ctx, key, cm); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !isPublishedFrom(cm, d) || !publishedByOperator(cm, published.ComponentDomain) {
		return nil
	}
	if err := r.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("while withdrawing the published domain config: %w", err)
	}
	return nil
}

// sourceLabels mark a published object with what it was published from.
func sourceLabels(component, customerID, ns, name string) map[string]string {
	return map[string]string{
		published.LabelManagedBy:  published.ManagedBy,
		published.LabelComponent:  component,
		published.LabelCustomer:   customerID,
		published.LabelSourceNS:   ns,
		published.LabelSourceName: name,
	}
}

// isPublishedFrom reports whether obj was published from src; the operator never
// touches what another resource published.
func isPublishedFrom(obj, src client.Object) bool {
	l := obj.GetLabels()
	return l[published.LabelSourceNS] == src.GetNamespace() && l[published.LabelSourceName] == src.GetName()
}

// publishedByOperator reports whether obj carries the labels the operator publishes
// a component with.
func publishedByOperator(obj client.Object, component string) bool {
	l := obj.GetLabels()
	return l[published.LabelManagedBy] == published.ManagedBy && l[published.LabelComponent] == component
}

func labelsContain(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
