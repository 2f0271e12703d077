package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OwnerAnchor returns an owner reference to the ConfigMap name in the registrar
// namespace, the anchor the Helm chart creates. Everything the operator creates in
// that namespace carries it, besides the 'published from' labels, so that when
// `helm uninstall` deletes the anchor, the garbage collector deletes it all. The
// reference names the anchor's UID: an object the operator still writes during the
// uninstall points at an owner that is gone, and is collected all the same.
func OwnerAnchor(ctx context.Context, c client.Reader, namespace, name string) (*metav1.OwnerReference, error) {
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cm); err != nil {
		return nil, fmt.Errorf("while reading the owner anchor ConfigMap %s/%s (helm upgrade restores it): %w", namespace, name, err)
	}
	// Neither controller nor blocking: it owns, it does not manage.
	return &metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID}, nil
}

// ownerRefs are the owner references of what the operator creates in the registrar
// namespace: the anchor's, or none when there is no anchor.
func (o Options) ownerRefs() []metav1.OwnerReference {
	if o.Anchor == nil {
		return nil
	}
	return []metav1.OwnerReference{*o.Anchor}
}

// ownerRefApplies are ownerRefs as server-side apply configurations.
func (o Options) ownerRefApplies() []*metav1ac.OwnerReferenceApplyConfiguration {
	var refs []*metav1ac.OwnerReferenceApplyConfiguration
	for _, r := range o.ownerRefs() {
		refs = append(refs, metav1ac.OwnerReference().
			WithAPIVersion(r.APIVersion).WithKind(r.Kind).WithName(r.Name).WithUID(r.UID))
	}
	return refs
}

// addOwnerRefs adds to obj those of refs it lacks (by UID), keeping its own, and
// reports whether it added any: an object an earlier release created gets them on
// its next reconcile.
func addOwnerRefs(obj metav1.Object, refs ...metav1.OwnerReference) bool {
	have := obj.GetOwnerReferences()
	added := false
	for _, r := range refs {
		if !hasOwnerUID(have, r) {
			have = append(have, r)
			added = true
		}
	}
	if added {
		obj.SetOwnerReferences(have)
	}
	return added
}

func hasOwnerUID(refs []metav1.OwnerReference, want metav1.OwnerReference) bool {
	for _, r := range refs {
		if r.UID == want.UID {
			return true
		}
	}
	return false
}
