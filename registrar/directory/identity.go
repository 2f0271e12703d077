package directory

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// identity is the metadata an informer's store needs of an object: namespace/name
// is its key, and resourceVersion tells a relist what changed. A metav1.ObjectMeta
// is 232 bytes before any of its strings; at 100,000 Extensions and as many
// Secrets, keeping only these three saves some 35 MB.
//
// identity implements metav1.Object so that the informer machinery (key and index
// functions, tombstones) reads it as it reads any object. The fields it does not
// keep read as empty, and setting them does nothing: the records are built by a
// transform and only ever read.
type identity struct {
	name, namespace, resourceVersion string
}

var _ metav1.Object = (*identity)(nil)

func identityOf(m *metav1.ObjectMeta) identity {
	return identity{name: m.Name, namespace: namespaces.intern(m.Namespace), resourceVersion: m.ResourceVersion}
}

// GetObjectKind is the runtime.Object half: a record has no type metadata of its own.
func (*identity) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (i *identity) GetNamespace() string            { return i.namespace }
func (i *identity) SetNamespace(ns string)          { i.namespace = ns }
func (i *identity) GetName() string                 { return i.name }
func (i *identity) SetName(name string)             { i.name = name }
func (i *identity) GetResourceVersion() string      { return i.resourceVersion }
func (i *identity) SetResourceVersion(rv string)    { i.resourceVersion = rv }
func (*identity) GetGenerateName() string           { return "" }
func (*identity) SetGenerateName(string)            {}
func (*identity) GetUID() types.UID                 { return "" }
func (*identity) SetUID(types.UID)                  {}
func (*identity) GetGeneration() int64              { return 0 }
func (*identity) SetGeneration(int64)               {}
func (*identity) GetSelfLink() string               { return "" }
func (*identity) SetSelfLink(string)                {}
func (*identity) GetCreationTimestamp() metav1.Time { return metav1.Time{} }
func (*identity) SetCreationTimestamp(metav1.Time)  {}
func (*identity) GetDeletionTimestamp() *metav1.Time {
	return nil
}
func (*identity) SetDeletionTimestamp(*metav1.Time)             {}
func (*identity) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (*identity) SetDeletionGracePeriodSeconds(*int64)          {}
func (*identity) GetLabels() map[string]string                  { return nil }
func (*identity) SetLabels(map[string]string)                   {}
func (*identity) GetAnnotations() map[string]string             { return nil }
func (*identity) SetAnnotations(map[string]string)              {}
func (*identity) GetFinalizers() []string                       { return nil }
func (*identity) SetFinalizers([]string)                        {}
func (*identity) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (*identity) SetOwnerReferences([]metav1.OwnerReference)    {}
func (*identity) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (*identity) SetManagedFields([]metav1.ManagedFieldsEntry)  {}
