package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// countsDelay is how long a Domain waits after an Extension event before it counts
// its Extensions again, at the soonest; Options.CountsInterval spaces the recounts.
// The queue holds one request per Domain, so the events of a bulk load become one
// status write per Domain and interval instead of one per Extension, and the API
// server's writes go to the Extensions themselves.
const countsDelay = 2 * time.Second

// countPacer remembers when each Domain last counted. Its zero value is ready.
type countPacer struct {
	mu   sync.Mutex
	last map[types.NamespacedName]time.Time
}

// delay is how long a recount of key waits, asked at now, with interval between
// recounts.
func (p *countPacer) delay(key types.NamespacedName, now time.Time, interval time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(countsDelay, p.last[key].Add(interval).Sub(now))
}

// counted records a recount of key at now.
func (p *countPacer) counted(key types.NamespacedName, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[types.NamespacedName]time.Time{}
	}
	p.last[key] = now
}

// forget drops a deleted Domain.
func (p *countPacer) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, key)
}

// recountDomainOfExtension enqueues the Domain of an Extension, paced.
func (r *DomainReconciler) recountDomainOfExtension() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(o any, q queue) {
		if e, ok := o.(*sipv1.Extension); ok {
			key := types.NamespacedName{Namespace: e.Namespace, Name: e.Spec.DomainRef}
			q.AddAfter(reconcile.Request{NamespacedName: key}, r.counts.delay(key, time.Now(), r.Options.countsInterval()))
		}
	}
	return handler.Funcs{
		CreateFunc:  func(_ context.Context, e event.CreateEvent, q queue) { add(e.Object, q) },
		UpdateFunc:  func(_ context.Context, e event.UpdateEvent, q queue) { add(e.ObjectNew, q) },
		DeleteFunc:  func(_ context.Context, e event.DeleteEvent, q queue) { add(e.Object, q) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { add(e.Object, q) },
	}
}
