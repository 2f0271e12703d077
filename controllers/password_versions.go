package controllers

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	*compactWatch[types.NamespacedName, *metav1.PartialObjectMetadata, passwordVersion]
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
	lw := selectedListWatch(generatedPasswordSelector(), secrets.List, secrets.Watch)
	return passwordStore(lw, enqueue), nil
}

// passwordStore is the watch of generated password Secrets over lw.
func passwordStore(lw toolscache.ListerWatcher, enqueue func(context.Context, requestQueue, *metav1.PartialObjectMetadata)) *passwordVersions {
	example := &metav1.PartialObjectMetadata{}
	example.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return &passwordVersions{(&compactWatch[types.NamespacedName, *metav1.PartialObjectMetadata, passwordVersion]{
		kind: "generated password secrets", lw: lw, example: example, enqueue: enqueue,
		keyOf: func(s *metav1.PartialObjectMetadata) types.NamespacedName {
			return types.NamespacedName{Namespace: intern(s.Namespace), Name: s.Name}
		},
		compact: compactVersion,
		equal:   func(a, b passwordVersion) bool { return a == b },
		gone: func(key types.NamespacedName, _ passwordVersion) *metav1.PartialObjectMetadata {
			return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		},
	}).init()}
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
