package controllers

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/voipbin/registrar-operator/api/published"
)

// passwordVersions follows the password Secrets the operator generates, one per
// Extension, by a metadata-only watch of its own, and keeps of each only what a
// reconcile compares a credential against: its UID and resourceVersion, and its
// controller's UID. That is about 150 B where a cached Secret, with the informer's
// store and index entries, took about 750 B: 60 MB at 100,000 Extensions. The data
// is read from the API server when a credential must be derived again (loadPassword).
// A change of one brings back its Extension, and those that name it in
// spec.passwordSecretRef.
type passwordVersions struct {
	lw      toolscache.ListerWatcher
	enqueue func(ctx context.Context, queue requestQueue, s *metav1.PartialObjectMetadata)

	mu     sync.RWMutex
	m      map[types.NamespacedName]passwordVersion
	synced chan struct{}
	once   sync.Once
	ctx    context.Context
	queue  requestQueue
}

// requestQueue is a controller's queue, as a source receives it.
type requestQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// passwordVersion is a generated password Secret as a reconcile needs it, without a
// pointer for the garbage collector to follow. exact is false for a UID or
// resourceVersion that does not round-trip through the compact form (never seen from
// a kube-apiserver): its Secret is then read from the API server.
type passwordVersion struct {
	uid, owner [16]byte
	version    uint64
	exact      bool
}

// generatedPasswordSelector selects the generated password Secrets: the manager's
// cache leaves them out (CacheOptions), this watch takes them alone.
func generatedPasswordSelector() string {
	return published.LabelManagedBy + "=" + published.ManagedBy + "," + published.LabelComponent + "=" + componentPassword
}

func newPasswordVersions(mgr ctrl.Manager, enqueue func(context.Context, requestQueue, *metav1.PartialObjectMetadata)) (*passwordVersions, error) {
	mc, err := metadata.NewForConfigAndClient(metadata.ConfigFor(mgr.GetConfig()), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("while creating the metadata client of password secrets: %w", err)
	}
	secrets := mc.Resource(corev1.SchemeGroupVersion.WithResource("secrets"))
	sel := generatedPasswordSelector()
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return secrets.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector, o.Watch, o.AllowWatchBookmarks = sel, true, true
			return secrets.Watch(ctx, o)
		},
	}
	return &passwordVersions{lw: lw, enqueue: enqueue, m: map[types.NamespacedName]passwordVersion{}, synced: make(chan struct{})}, nil
}

// Start runs the watch until ctx ends (source.Source).
func (p *passwordVersions) Start(ctx context.Context, queue requestQueue) error {
	p.mu.Lock()
	p.ctx, p.queue = ctx, queue
	p.mu.Unlock()
	expected := &metav1.PartialObjectMetadata{}
	expected.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	r := toolscache.NewReflectorWithOptions(p.lw, expected, p, toolscache.ReflectorOptions{Name: "generated password secrets"})
	go r.RunWithContext(ctx)
	return nil
}

// WaitForSync returns once the first list is in (source.SyncingSource): until then a
// reconcile would take every generated Secret for missing.
func (p *passwordVersions) WaitForSync(ctx context.Context) error {
	select {
	case <-p.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("while waiting for the generated password secrets to be listed: %w", ctx.Err())
	}
}

// lookup returns what the watch knows of the Secret at key.
func (p *passwordVersions) lookup(key types.NamespacedName) (passwordVersion, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	v, ok := p.m[key]
	return v, ok
}

func (p *passwordVersions) Add(obj any) error    { return p.Update(obj) }
func (p *passwordVersions) Resync() error        { return nil }
func (p *passwordVersions) Delete(obj any) error { return p.put(obj, true) }
func (p *passwordVersions) Update(obj any) error { return p.put(obj, false) }

func (p *passwordVersions) put(obj any, deleted bool) error {
	s, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return fmt.Errorf("watching generated password secrets: got a %T", obj)
	}
	key := types.NamespacedName{Namespace: intern(s.Namespace), Name: s.Name}
	p.mu.Lock()
	if deleted {
		delete(p.m, key)
	} else {
		p.m[key] = compactVersion(s)
	}
	ctx, queue := p.ctx, p.queue
	p.mu.Unlock()
	if queue != nil {
		p.enqueue(ctx, queue, s)
	}
	return nil
}

// Replace takes a full list (the first, or after the watch was lost): what changed
// or went since is announced as a watch event would have been; the first announces
// nothing, as every Extension is reconciled when the operator starts.
func (p *passwordVersions) Replace(list []any, _ string) error {
	next := make(map[types.NamespacedName]passwordVersion, len(list))
	var changed []*metav1.PartialObjectMetadata
	p.mu.Lock()
	first := !p.isSynced()
	for _, obj := range list {
		s, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			p.mu.Unlock()
			return fmt.Errorf("listing generated password secrets: got a %T", obj)
		}
		key := types.NamespacedName{Namespace: intern(s.Namespace), Name: s.Name}
		v := compactVersion(s)
		if old, had := p.m[key]; !first && (!had || old != v) {
			changed = append(changed, s)
		}
		next[key] = v
	}
	for key := range p.m {
		if _, ok := next[key]; !ok && !first {
			gone := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
			changed = append(changed, gone)
		}
	}
	p.m = next
	ctx, queue := p.ctx, p.queue
	p.mu.Unlock()
	p.once.Do(func() { close(p.synced) })
	for _, s := range changed {
		if queue != nil {
			p.enqueue(ctx, queue, s)
		}
	}
	return nil
}

func (p *passwordVersions) isSynced() bool {
	select {
	case <-p.synced:
		return true
	default:
		return false
	}
}

// generatedPasswordOwner is the Extension a generated password Secret belongs to: its
// controller, or, for one known by name only (gone while the watch was down), the
// Extension its name was made from.
func generatedPasswordOwner(s *metav1.PartialObjectMetadata) (reconcile.Request, bool) {
	if ref := metav1.GetControllerOf(s); ref != nil {
		if ref.Kind != extensionKind {
			return reconcile.Request{}, false
		}
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: ref.Name}}, true
	}
	name, ok := strings.CutSuffix(s.Name, GeneratedPasswordSecretName(""))
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: name}}, ok && name != ""
}

func compactVersion(s *metav1.PartialObjectMetadata) passwordVersion {
	var v passwordVersion
	var okUID, okOwner, okVersion bool
	v.uid, okUID = compactUID(s.UID)
	okOwner = true
	if ref := metav1.GetControllerOf(s); ref != nil {
		v.owner, okOwner = compactUID(ref.UID)
	}
	v.version, okVersion = compactResourceVersion(s.ResourceVersion)
	v.exact = okUID && okOwner && okVersion
	return v
}

// compactUID is a UUID's 16 bytes, when formatting them gives the UID back.
func compactUID(uid types.UID) ([16]byte, bool) {
	var b [16]byte
	s := string(uid)
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return b, false
	}
	return b, uidString(b) == uid
}

func uidString(b [16]byte) types.UID {
	h := hex.EncodeToString(b[:])
	return types.UID(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
}

// compactResourceVersion is a resourceVersion as a number, when formatting it gives
// it back (kube-apiserver's are etcd revisions; clients must not rely on it, so
// anything else is kept out of the compact form).
func compactResourceVersion(rv string) (uint64, bool) {
	n, err := strconv.ParseUint(rv, 10, 64)
	return n, err == nil && strconv.FormatUint(n, 10) == rv
}

// enqueueGeneratedPassword brings back the Extension a generated password Secret
// belongs to, and those that name it in spec.passwordSecretRef.
func (r *ExtensionReconciler) enqueueGeneratedPassword(ctx context.Context, queue requestQueue, s *metav1.PartialObjectMetadata) {
	if req, ok := generatedPasswordOwner(s); ok {
		queue.Add(req)
	}
	for _, req := range r.extensionsUsingPassword(ctx, s) {
		queue.Add(req)
	}
}
