package directory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// ExtensionEntry is what the proxy needs of one Extension: whether it is disabled,
// and the bindings every replica wrote into its status.
type ExtensionEntry struct {
	Namespace, Name string
	Disabled        bool
	Bindings        []sipv1.Binding
}

// Extensions is the cluster's Extensions by status.addressOfRecord. The published
// credentials only say who may register; the proxy also needs the bindings other
// replicas hold (so a call reaches a device whatever replica it registered with) and
// whether an unknown AOR is a disabled extension (480) or none at all (404).
type Extensions struct {
	cache crcache.Cache
	log   logr.Logger

	mu    sync.RWMutex
	byAOR map[string]*ExtensionEntry
	// onBindings, once set, sees every Extension the watch delivers (OnBindings).
	onBindings atomic.Pointer[func(aor string, bindings []sipv1.Binding)]
}

// OnBindings has fn called with the AOR and status bindings of every Extension
// the watch delivers from now on, and at once with those it holds: how a replica
// learns that a device it holds registered at another (status.Writer.Reconcile).
// fn runs on the watch's goroutine: it must be quick and must not block.
func (e *Extensions) OnBindings(fn func(aor string, bindings []sipv1.Binding)) {
	e.onBindings.Store(&fn)
	e.mu.RLock()
	held := make(map[string][]sipv1.Binding, len(e.byAOR))
	for aor, x := range e.byAOR {
		held[aor] = x.Bindings
	}
	e.mu.RUnlock()
	for aor, bs := range held {
		fn(aor, bs)
	}
}

// NewExtensions prepares a cluster-wide watch of Extensions; Start runs it.
func NewExtensions(rc *rest.Config, log logr.Logger) (*Extensions, error) {
	c, err := crcache.New(rc, crcache.Options{Scheme: scheme.New(), DefaultTransform: slimExtension})
	if err != nil {
		return nil, fmt.Errorf("while creating the Extension cache: %w", err)
	}
	return &Extensions{cache: c, log: log, byAOR: map[string]*ExtensionEntry{}}, nil
}

// Start runs the watch until ctx ends and waits for the first listing.
func (e *Extensions) Start(ctx context.Context) error {
	inf, err := e.cache.GetInformer(ctx, &sipv1.Extension{})
	if err != nil {
		return fmt.Errorf("while watching Extensions: %w", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { e.put(nil, o) },
		UpdateFunc: func(old, o any) { e.put(old, o) },
		DeleteFunc: func(o any) { e.remove(o) },
	}); err != nil {
		return fmt.Errorf("while watching Extensions: %w", err)
	}
	go func() {
		if err := e.cache.Start(ctx); err != nil {
			e.log.Error(err, "the Extension watch stopped")
		}
	}()
	if !e.cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("while waiting for the cluster's Extensions: %w", ctx.Err())
	}
	return nil
}

// ByAOR returns the Extension whose status names aor. The entry is shared: do not
// modify it.
func (e *Extensions) ByAOR(aor string) (*ExtensionEntry, bool) {
	e.mu.RLock()
	x, ok := e.byAOR[aor]
	e.mu.RUnlock()
	return x, ok
}

// put takes an Extension (as slimExtension stored it) and the version it replaces,
// if any: the old AOR is forgotten when it changed or was cleared.
func (e *Extensions) put(old, o any) {
	rec, ok := o.(*extensionRecord)
	if !ok {
		return
	}
	key := types.NamespacedName{Namespace: rec.namespace, Name: rec.name}
	e.mu.Lock()
	if prev, ok := old.(*extensionRecord); ok && prev.aor != "" && prev.aor != rec.aor {
		e.dropLocked(prev.aor, key)
	}
	if rec.aor != "" {
		e.byAOR[rec.aor] = &rec.entry
	}
	e.mu.Unlock()
	if fn := e.onBindings.Load(); fn != nil && rec.aor != "" {
		(*fn)(rec.aor, rec.entry.Bindings)
	}
}

func (e *Extensions) remove(o any) {
	rec, ok := unwrap[*extensionRecord](o)
	if !ok || rec.aor == "" {
		return
	}
	e.mu.Lock()
	e.dropLocked(rec.aor, types.NamespacedName{Namespace: rec.namespace, Name: rec.name})
	e.mu.Unlock()
}

// dropLocked forgets aor unless another Extension claimed it since (two Extensions
// briefly naming one AOR while the operator resolves a conflict).
func (e *Extensions) dropLocked(aor string, key types.NamespacedName) {
	if x, ok := e.byAOR[aor]; ok && x.Namespace == key.Namespace && x.Name == key.Name {
		delete(e.byAOR, aor)
	}
}
