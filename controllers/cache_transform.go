package controllers

import (
	"strings"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// slimForCache is the informers' transform: it drops managed fields, which the
// reconcilers never read, and makes the strings that repeat across objects (a
// namespace, label and annotation keys, a customer, an owner's kind, a Secret's
// type, a condition's reason) share one copy. At 100,000 Extensions each copy saved
// is 100,000 copies (BenchmarkCachedBytesPerExtension measures them). Beyond that it drops only what the reconcilers never read or write
// back from the cache: an Extension's annotations and the registrars' binding details
// (leaseOnly). The Secrets derived from Extensions, a generated password and a
// published credential for each, are not in the cache at all (cachedSecrets): watches
// of their own keep what a reconcile reads of them (passwordVersions,
// credentialVersions).
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
	if a := obj.GetAnnotations(); len(a) > 0 {
		obj.SetAnnotations(internKeys(a))
	}
	if refs := obj.GetOwnerReferences(); len(refs) > 0 {
		shareOwners(obj.GetName(), refs)
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
		shareExtensionStrings(o)
	case *sipv1.Domain:
		internConditions(o.Status.Conditions)
	case *corev1.Secret:
		o.Type = corev1.SecretType(intern(string(o.Type)))
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

// internKeys shares the keys of annotations: a credential's hash annotation has the
// same key on each of 100,000 Secrets. The values are the object's own.
func internKeys(a map[string]string) map[string]string {
	out := make(map[string]string, len(a))
	for k, v := range a {
		out[intern(k)] = v
	}
	return out
}

// shareOwners shares what repeats in owner references: their kind, the one
// Controller and BlockOwnerDeletion flag of each value, and the name and UID of an
// owner of many objects (the chart's anchor owns every credential). An Extension
// owns its own password Secret alone, whose name begins with the Extension's: its
// reference's name is that prefix of name rather than a copy of it.
func shareOwners(name string, refs []metav1.OwnerReference) {
	for i := range refs {
		r := &refs[i]
		r.APIVersion, r.Kind = intern(r.APIVersion), intern(r.Kind)
		r.Controller, r.BlockOwnerDeletion = sharedFlag(r.Controller), sharedFlag(r.BlockOwnerDeletion)
		switch {
		case r.Kind != extensionKind:
			r.Name, r.UID = intern(r.Name), types.UID(intern(string(r.UID)))
		case strings.HasPrefix(name, r.Name):
			r.Name = name[:len(r.Name)]
		}
	}
}

const extensionKind = "Extension"

var flagTrue, flagFalse = true, false

// sharedFlag is one pointer for each value of an optional flag: the cache hands out
// deep copies, never the cached object, so nothing writes through it.
func sharedFlag(b *bool) *bool {
	switch {
	case b == nil:
		return nil
	case *b:
		return &flagTrue
	default:
		return &flagFalse
	}
}

// shareExtensionStrings makes an Extension's strings that repeat one another share
// their bytes: its address of record ends the Ready message ("accepting registrations
// for 1001@example.com"), and its name begins the name of its generated password
// Secret.
func shareExtensionStrings(e *sipv1.Extension) {
	if aor := e.Status.AddressOfRecord; aor != "" {
		for _, c := range e.Status.Conditions {
			if strings.HasSuffix(c.Message, aor) {
				e.Status.AddressOfRecord = c.Message[len(c.Message)-len(aor):]
				break
			}
		}
	}
	if p := e.Status.PasswordSecret; e.Name != "" && strings.HasPrefix(p, e.Name) {
		e.Name = p[:len(e.Name)]
	}
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
