package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// countsDelay is how long a Domain waits after an Extension event before it counts
// its Extensions again. The queue holds one request per Domain, so a bulk load of a
// hundred Extensions in one Domain costs one status write instead of a hundred, and
// the API server's writes go to the Extensions themselves; the counts lag by this.
const countsDelay = 2 * time.Second

// recountDomainOfExtension enqueues the Domain of an Extension after countsDelay.
func recountDomainOfExtension() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(o any, q queue) {
		if e, ok := o.(*sipv1.Extension); ok {
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: e.Namespace, Name: e.Spec.DomainRef}}, countsDelay)
		}
	}
	return handler.Funcs{
		CreateFunc:  func(_ context.Context, e event.CreateEvent, q queue) { add(e.Object, q) },
		UpdateFunc:  func(_ context.Context, e event.UpdateEvent, q queue) { add(e.ObjectNew, q) },
		DeleteFunc:  func(_ context.Context, e event.DeleteEvent, q queue) { add(e.Object, q) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { add(e.Object, q) },
	}
}
