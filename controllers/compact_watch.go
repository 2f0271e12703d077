package controllers

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// compactWatch follows one kind of object by a watch of its own and keeps of each,
// by key K, only the compact value V a reconcile reads, rather than the decoded
// object an informer's cache holds: at 100,000 Extensions each byte saved per object
// is 100 KB. It is the reflector's store and a controller-runtime source at once: a
// change of an object O, seen live or found by a fresh list after the watch was lost,
// is announced to the controller's queue.
type compactWatch[K comparable, O runtime.Object, V any] struct {
	kind    string // what it watches, for errors: "generated password secrets"
	lw      toolscache.ListerWatcher
	example O // the type the watch decodes
	keyOf   func(O) K
	// compact is called with mu held, so it may keep state of its own under it.
	compact func(O) V
	equal   func(V, V) bool
	// gone is the object known only by key and value, for one deleted while the
	// watch was down: what announces its deletion.
	gone    func(K, V) O
	enqueue func(context.Context, requestQueue, O)

	mu     sync.RWMutex
	m      map[K]V
	synced chan struct{}
	once   sync.Once
	ctx    context.Context
	queue  requestQueue
}

// init readies w's state; the fields that say what it watches are set by its maker.
func (w *compactWatch[K, O, V]) init() *compactWatch[K, O, V] {
	w.m, w.synced = map[K]V{}, make(chan struct{})
	return w
}

// Start runs the watch until ctx ends (source.Source).
func (w *compactWatch[K, O, V]) Start(ctx context.Context, queue requestQueue) error {
	w.mu.Lock()
	w.ctx, w.queue = ctx, queue
	w.mu.Unlock()
	r := toolscache.NewReflectorWithOptions(w.lw, w.example, w, toolscache.ReflectorOptions{Name: w.kind})
	go r.RunWithContext(ctx)
	return nil
}

// WaitForSync returns once the first list is in (source.SyncingSource): until then a
// reconcile would take every object for missing.
func (w *compactWatch[K, O, V]) WaitForSync(ctx context.Context) error {
	select {
	case <-w.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("while waiting for the %s to be listed: %w", w.kind, ctx.Err())
	}
}

// lookup returns what the watch keeps of the object at key.
func (w *compactWatch[K, O, V]) lookup(key K) (V, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	v, ok := w.m[key]
	return v, ok
}

// each calls f for every object the watch keeps, with the watch read-locked.
func (w *compactWatch[K, O, V]) each(f func(K, V)) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for k, v := range w.m {
		f(k, v)
	}
}

func (w *compactWatch[K, O, V]) Add(obj any) error    { return w.put(obj, false) }
func (w *compactWatch[K, O, V]) Update(obj any) error { return w.put(obj, false) }
func (w *compactWatch[K, O, V]) Delete(obj any) error { return w.put(obj, true) }
func (w *compactWatch[K, O, V]) Resync() error        { return nil }

func (w *compactWatch[K, O, V]) put(obj any, deleted bool) error {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, ok := obj.(O)
	if !ok {
		return fmt.Errorf("watching %s: got a %T", w.kind, obj)
	}
	key := w.keyOf(o)
	w.mu.Lock()
	if deleted {
		delete(w.m, key)
	} else {
		w.m[key] = w.compact(o)
	}
	ctx, queue := w.ctx, w.queue
	w.mu.Unlock()
	if queue != nil && w.enqueue != nil {
		w.enqueue(ctx, queue, o)
	}
	return nil
}

// Replace takes a full list (the first, or after the watch was lost): what changed
// or went since is announced as a watch event would have been; the first announces
// nothing, as every Extension is reconciled when the operator starts.
func (w *compactWatch[K, O, V]) Replace(list []any, _ string) error {
	next := make(map[K]V, len(list))
	var changed []O
	w.mu.Lock()
	first := !w.isSynced()
	for _, obj := range list {
		o, ok := obj.(O)
		if !ok {
			w.mu.Unlock()
			return fmt.Errorf("listing %s: got a %T", w.kind, obj)
		}
		key, v := w.keyOf(o), w.compact(o)
		if old, had := w.m[key]; !first && (!had || !w.equal(old, v)) {
			changed = append(changed, o)
		}
		next[key] = v
	}
	for key, v := range w.m {
		if _, ok := next[key]; !ok && !first {
			changed = append(changed, w.gone(key, v))
		}
	}
	w.m = next
	ctx, queue := w.ctx, w.queue
	w.mu.Unlock()
	w.once.Do(func() { close(w.synced) })
	if queue != nil && w.enqueue != nil {
		for _, o := range changed {
			w.enqueue(ctx, queue, o)
		}
	}
	return nil
}

func (w *compactWatch[K, O, V]) isSynced() bool {
	select {
	case <-w.synced:
		return true
	default:
		return false
	}
}

// selectedListWatch lists and watches, with list and watchFn of a client for one
// resource, the objects the label selector sel selects.
func selectedListWatch[L runtime.Object](sel string, list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) *toolscache.ListWatch {
	return &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector, o.Watch, o.AllowWatchBookmarks = sel, true, true
			return watchFn(ctx, o)
		},
	}
}
