package controllers

import (
	"unique"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// slimForCache is the informers' transform: it drops managed fields, which the
// reconcilers never read, and makes the strings that repeat across objects (a
// namespace, label keys, a customer, an owner's kind, a condition's reason, a
// registrar pod's name) share one copy. At 100,000 Extensions each copy saved is
// 100,000 copies. Nothing is changed but where the bytes live, so an object read from
// the cache and written back is written as it was.
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
		o.Spec.DomainRef = intern(o.Spec.DomainRef)
		internConditions(o.Status.Conditions)
		for i := range o.Status.Bindings {
			b := &o.Status.Bindings[i]
			b.Registrar, b.Transport, b.UserAgent = intern(b.Registrar), intern(b.Transport), intern(b.UserAgent)
		}
	case *sipv1.Domain:
		internConditions(o.Status.Conditions)
	}
	return in, nil
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
