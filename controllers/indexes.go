package controllers

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Cache indexes, so that mapping an event to the objects it concerns is a lookup
// rather than a scan of 100,000 Extensions.
const (
	// indexDomainCustomer: Domain → spec.customerID (conflicts across namespaces).
	indexDomainCustomer = "spec.customerID"
	// indexExtensionDomain: Extension → spec.domainRef (namespaced lists).
	indexExtensionDomain = "spec.domainRef"
	// indexExtensionNumber: Extension → "{domainRef}/{extension}" (duplicates).
	indexExtensionNumber = "spec.domainRef+extension"
	// indexExtensionPassword: Extension → spec.passwordSecretRef.name.
	indexExtensionPassword = "spec.passwordSecretRef.name"
)

func extensionNumberKey(domainRef, extension string) string { return domainRef + "/" + extension }

// SetupIndexes registers the field indexes the reconcilers list by.
func SetupIndexes(ctx context.Context, mgr manager.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &sipv1.Domain{}, indexDomainCustomer, func(o client.Object) []string {
		return []string{o.(*sipv1.Domain).Spec.CustomerID}
	}); err != nil {
		return fmt.Errorf("while indexing domains by customer ID: %w", err)
	}
	if err := idx.IndexField(ctx, &sipv1.Extension{}, indexExtensionDomain, func(o client.Object) []string {
		return []string{o.(*sipv1.Extension).Spec.DomainRef}
	}); err != nil {
		return fmt.Errorf("while indexing extensions by domain: %w", err)
	}
	if err := idx.IndexField(ctx, &sipv1.Extension{}, indexExtensionNumber, func(o client.Object) []string {
		e := o.(*sipv1.Extension)
		return []string{extensionNumberKey(e.Spec.DomainRef, e.Spec.Extension)}
	}); err != nil {
		return fmt.Errorf("while indexing extensions by number: %w", err)
	}
	if err := idx.IndexField(ctx, &sipv1.Extension{}, indexExtensionPassword, func(o client.Object) []string {
		if ref := o.(*sipv1.Extension).Spec.PasswordSecretRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("while indexing extensions by password secret: %w", err)
	}
	return nil
}
