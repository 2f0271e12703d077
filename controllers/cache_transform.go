package controllers

import (
	"maps"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// slimForCache is the informers' transform: it drops managed fields, which the
// reconcilers never read, and makes the strings that repeat across objects (a
// namespace, label keys, a customer, an owner's kind, a condition's reason) share
// one copy. At 100,000 Extensions each copy saved is
// 100,000 copies. Beyond that it drops only what the reconcilers never read or write
// back from the cache: an Extension's annotations, the registrars' binding details
// (leaseOnly) and the data of the Secrets derived from Extensions (withoutDerivedData).
func slimForCache(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil
	}
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	obj.SetNamespace(intern(obj.GetNamespace()))
	if l := obj.GetLabels(); len(l) > 0 {
		obj.SetLabels(internLabels(l))
	}
	if refs := obj.GetOwnerReferences(); len(refs) > 0 {
		for i := range refs {
			refs[i].APIVersion, refs[i].Kind = intern(refs[i].APIVersion), intern(refs[i].Kind)
		}
		obj.SetOwnerReferences(refs)
	}
	if f := obj.GetFinalizers(); len(f) > 0 {
		for i := range f {
			f[i] = intern(f[i])
		}
		obj.SetFinalizers(f)
	}
	switch o := in.(type) {
	case *sipv1.Extension:
		// Never read, and often large: kubectl apply's last-applied-configuration, a
		// GitOps tool's tracking. The finalizer is patched, so nothing writes them back.
		o.Annotations = nil
		o.Spec.DomainRef = intern(o.Spec.DomainRef)
		internConditions(o.Status.Conditions)
		o.Status.Bindings = leaseOnly(o.Status.Bindings)
	case *sipv1.Domain:
		internConditions(o.Status.Conditions)
	case *corev1.Secret:
		withoutDerivedData(o)
	}
	return in, nil
}

// leaseOnly keeps of each binding its lease's end, all the operator reads of them
// (how many there are, when the next expires): the contacts, sources and user agents
// a registrar writes are its own, and pruneExpiredBindings reads them from the API
// server on the rare occasion it rewrites them.
func leaseOnly(bs []sipv1.Binding) []sipv1.Binding {
	if len(bs) == 0 {
		return nil
	}
	out := make([]sipv1.Binding, len(bs))
	for i := range bs {
		out[i].ExpiresAt = bs[i].ExpiresAt
	}
	return out
}

// withoutDerivedData drops the data of the Secrets the operator makes by the
// Extension, a generated password and a published credential, two for each of
// 100,000 Extensions: a reconcile tells from their metadata whether they are current
// and reads the data from the API server only when it must change. A credential's
// annotationCredentialHash gets the digest of the data dropped, so that its Extension
// tells data edited by hand (the annotation's data sum is keyed: checking it needs the
// key, which the transform does not have and does not need). The nonce key and the
// Secrets of others keep theirs.
func withoutDerivedData(s *corev1.Secret) {
	if s.Labels[published.LabelManagedBy] != published.ManagedBy {
		return
	}
	switch s.Labels[published.LabelComponent] {
	case published.ComponentCredential:
		if v := withCachedDataDigest(s.Annotations[annotationCredentialHash], s.Data); v != "" {
			s.Annotations[annotationCredentialHash] = v // a fresh copy, the informer's own
		}
	case componentPassword:
		if maps.Equal(s.Labels, passwordLabels) {
			// One map for 100,000 Secrets: the cache hands out copies, never this one.
			s.Labels = passwordLabels
		}
	default:
		return
	}
	s.Data, s.StringData = nil, nil
}

// internLabels shares the keys, and the values but a source's name, which is unique
// to one object: a shared copy of it would only add the interning's own entry.
func internLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	for k, v := range l {
		if k != published.LabelSourceName {
			v = intern(v)
		}
		out[intern(k)] = v
	}
	return out
}

func internConditions(cs []metav1.Condition) {
	for i := range cs {
		c := &cs[i]
		c.Type, c.Reason, c.Status = intern(c.Type), intern(c.Reason), metav1.ConditionStatus(intern(string(c.Status)))
	}
}

func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}
