package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/voipbin/registrar-operator/api/published"
)

// specOrLifecycleChanged passes what a reconcile must act on: a new generation, or a
// change of deletion timestamp or finalizers. The operator's own status writes pass
// neither, so they never retrigger a reconcile.
func specOrLifecycleChanged() predicate.Predicate {
	return predicate.Or(predicate.GenerationChangedPredicate{}, deletionOrFinalizersChanged())
}

func deletionOrFinalizersChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld, e.ObjectNew
			return !o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp()) ||
				len(o.GetFinalizers()) != len(n.GetFinalizers())
		},
	}
}

// lifecycleOnly passes creations and deletions.
func lifecycleOnly() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp())
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func inNamespace(ns string) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == ns })
}

func hasComponent(component string) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetLabels()[published.LabelComponent] == component
	})
}
