package directory

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// multiFactory starts several informer factories as one.
type multiFactory []informers.SharedInformerFactory

func (m multiFactory) Start(stop <-chan struct{}) {
	for _, f := range m {
		f.Start(stop)
	}
}

// stripManagedFields keeps managed fields out of the informer caches: they are the
// bulk of an object and the registrar never reads them.
func stripManagedFields(o any) (any, error) {
	if m, ok := o.(interface {
		SetManagedFields([]metav1.ManagedFieldsEntry)
	}); ok {
		m.SetManagedFields(nil)
	}
	return o, nil
}
