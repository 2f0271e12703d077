package controllers

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Cache indexes, so that mapping an event to the objects it concerns is a lookup
// rather than a scan of 100,000 Extensions. Those of Extensions are namespaced only:
// every List by them is InNamespace; the number's is another (number_index.go).
const (
	// indexDomainCustomer: Domain → spec.customerID (conflicts across namespaces).
	indexDomainCustomer = "spec.customerID"
	// indexExtensionDomain: Extension → spec.domainRef (namespaced lists).
	indexExtensionDomain = "spec.domainRef"
	// indexExtensionPassword: Extension → spec.passwordSecretRef.name.
	indexExtensionPassword = "spec.passwordSecretRef.name"
)

// SetupIndexes registers the field indexes the reconcilers list by.
func SetupIndexes(ctx context.Context, mgr manager.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &sipv1.Domain{}, indexDomainCustomer, func(o client.Object) []string {
		return []string{o.(*sipv1.Domain).Spec.CustomerID}
	}); err != nil {
		return fmt.Errorf("while indexing domains by customer ID: %w", err)
	}
	exts, err := mgr.GetCache().GetInformer(ctx, &sipv1.Extension{})
	if err != nil {
		return fmt.Errorf("while getting the informer of extensions: %w", err)
	}
	err = exts.AddIndexers(toolscache.Indexers{
		fieldIndexName(indexExtensionDomain): namespacedIndex(func(e *sipv1.Extension) string { return e.Spec.DomainRef }),
		indexExtensionNumber:                 indexByNumberBucket,
		fieldIndexName(indexExtensionPassword): namespacedIndex(func(e *sipv1.Extension) string {
			if ref := e.Spec.PasswordSecretRef; ref != nil {
				return ref.Name
			}
			return ""
		}),
	})
	if err != nil {
		return fmt.Errorf("while indexing extensions: %w", err)
	}
	return nil
}

// fieldIndexName is the name controller-runtime's cache looks a field index up by
// for client.MatchingFields.
func fieldIndexName(field string) string { return "field:" + field }

// namespacedIndex indexes Extensions under "namespace/value", the key
// controller-runtime's cache looks up for a List with InNamespace and MatchingFields.
// Its own IndexField also files every object under a cluster-wide key, which no
// reconciler lists by: at 100,000 Extensions, one set of one key for each, per index.
// An empty value is not indexed.
func namespacedIndex(value func(*sipv1.Extension) string) toolscache.IndexFunc {
	return func(obj any) ([]string, error) {
		e, ok := obj.(*sipv1.Extension)
		if !ok {
			return nil, fmt.Errorf("indexing extensions: got a %T", obj)
		}
		v := value(e)
		if v == "" {
			return nil, nil
		}
		return []string{e.Namespace + "/" + v}, nil
	}
}
