package controllers

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/voipbin/registrar-operator/api/published"
)

// credentialVersions follows the credential Secrets the operator publishes in the
// registrar namespace, one per Extension, by a watch of its own, and keeps of each
// only what a reconcile reads: its UID, the labels naming its customer and source,
// its owner references (one shared copy of the anchor's) and the credential hash with
// the digest of its data (withCachedDataDigest), in binary: about 660 B less per
// Extension than the slimmed Secret the manager's cache held (BenchmarkCachedBytesPerExtension),
// and the informer's store and namespace index entries besides, 66 MB or more at
// 100,000 Extensions. The data is read from the API server when a
// credential must change (rewriteCredential). An event on one brings back the
// Extension it was published from, so a credential edited or deleted by hand is
// repaired as before.
type credentialVersions struct {
	*compactWatch[string, *corev1.Secret, credentialVersion]
	namespace string
	owners    []metav1.OwnerReference // the last owner references seen, shared by equal ones (under the watch's lock)
}

// credentialVersion is a credential Secret as a reconcile reads it. uid and hash are
// compact when their text round-trips (always, from a kube-apiserver and this
// operator); otherwise the text is kept in oddUID or oddHash.
type credentialVersion struct {
	uid                  [16]byte
	oddUID               types.UID
	hash                 [3 * 16]byte // inputs sum, data sum, data digest
	hasHash              bool
	oddHash              string
	customer, sourceNS   string // interned: one per Domain
	sourceName           string
	owners               []metav1.OwnerReference // shared: never written through
	managedBy, component bool                    // the selector's labels, as the watch saw them
}

// publishedCredentialSelector selects the credential Secrets: the manager's cache
// leaves them out (CacheOptions), this watch takes them alone.
func publishedCredentialSelector() string {
	return published.LabelManagedBy + "=" + published.ManagedBy + "," + published.LabelComponent + "=" + published.ComponentCredential
}

func newCredentialVersions(mgr ctrl.Manager, namespace string) (*credentialVersions, error) {
	cs, err := kubernetes.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("while creating the client of credential secrets: %w", err)
	}
	secrets := cs.CoreV1().Secrets(namespace)
	lw := selectedListWatch(publishedCredentialSelector(), secrets.List, secrets.Watch)
	return credentialStore(lw, namespace), nil
}

// credentialStore is the watch of the credential Secrets in namespace over lw.
func credentialStore(lw toolscache.ListerWatcher, namespace string) *credentialVersions {
	c := &credentialVersions{namespace: namespace}
	c.compactWatch = (&compactWatch[string, *corev1.Secret, credentialVersion]{
		kind: "published credential secrets", lw: lw, example: &corev1.Secret{},
		keyOf:   func(s *corev1.Secret) string { return s.Name },
		compact: c.compact,
		equal:   credentialVersion.equal,
		gone:    func(name string, v credentialVersion) *corev1.Secret { return v.secret(namespace, name) },
		enqueue: enqueuePublishedSource,
	}).init()
	return c
}

// get returns the credential Secret at key as the watch knows it, metadata only, a
// copy of its own; false when there is none.
func (c *credentialVersions) get(key types.NamespacedName) (*corev1.Secret, bool) {
	if key.Namespace != c.namespace {
		return nil, false
	}
	v, ok := c.lookup(key.Name)
	if !ok {
		return nil, false
	}
	return v.secret(c.namespace, key.Name), true
}

// publishedFrom returns the credential Secrets published from the Extension ns/name.
// It scans every credential, as a label selector on the manager's cache did; only an
// Extension that withdraws its credential asks.
func (c *credentialVersions) publishedFrom(ns, name string) []*corev1.Secret {
	var out []*corev1.Secret
	c.each(func(n string, v credentialVersion) {
		if v.sourceNS == ns && v.sourceName == name {
			out = append(out, v.secret(c.namespace, n))
		}
	})
	return out
}

func enqueuePublishedSource(ctx context.Context, queue requestQueue, s *corev1.Secret) {
	for _, req := range publishedSource(ctx, s) {
		queue.Add(req)
	}
}

// compact is what the watch keeps of s; called with mu held (owners).
func (c *credentialVersions) compact(s *corev1.Secret) credentialVersion {
	v := credentialVersion{
		customer:   intern(s.Labels[published.LabelCustomer]),
		sourceNS:   intern(s.Labels[published.LabelSourceNS]),
		sourceName: s.Labels[published.LabelSourceName],
		managedBy:  s.Labels[published.LabelManagedBy] == published.ManagedBy,
		component:  s.Labels[published.LabelComponent] == published.ComponentCredential,
		owners:     c.sharedOwners(s.Name, s.OwnerReferences),
	}
	if uid, ok := compactUID(s.UID); ok {
		v.uid = uid
	} else {
		v.oddUID = s.UID
	}
	hash := withCachedDataDigest(s.Annotations[annotationCredentialHash], s.Data)
	if b, ok := compactCredentialHash(hash); ok {
		v.hash, v.hasHash = b, true
	} else {
		v.oddHash = hash
	}
	return v
}

// sharedOwners is refs as one copy for every credential that has the same (the
// chart's anchor owns them all).
func (c *credentialVersions) sharedOwners(name string, refs []metav1.OwnerReference) []metav1.OwnerReference {
	if len(refs) == 0 {
		return nil
	}
	if slices.EqualFunc(refs, c.owners, sameOwnerRef) {
		return c.owners
	}
	refs = slices.Clone(refs)
	shareOwners(name, refs)
	c.owners = refs
	return refs
}

func sameOwnerRef(a, b metav1.OwnerReference) bool {
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		sameFlag(a.Controller, b.Controller) && sameFlag(a.BlockOwnerDeletion, b.BlockOwnerDeletion)
}

func sameFlag(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// compactCredentialHash is a cached credential hash, "<inputs>.<data>.<digest>" of
// three 32-digit hex sums, in binary, when formatting it gives it back.
func compactCredentialHash(v string) ([3 * 16]byte, bool) {
	var b [3 * 16]byte
	if len(v) != 3*32+2 || v[32] != '.' || v[65] != '.' {
		return b, false
	}
	for i := range 3 {
		if _, err := hex.Decode(b[i*16:(i+1)*16], []byte(v[i*33:i*33+32])); err != nil {
			return b, false
		}
	}
	return b, credentialHashText(b) == v
}

func credentialHashText(b [3 * 16]byte) string {
	return hex.EncodeToString(b[0:16]) + "." + hex.EncodeToString(b[16:32]) + "." + hex.EncodeToString(b[32:48])
}

func (v credentialVersion) equal(w credentialVersion) bool {
	return v.uid == w.uid && v.oddUID == w.oddUID && v.hash == w.hash && v.hasHash == w.hasHash && v.oddHash == w.oddHash &&
		v.customer == w.customer && v.sourceNS == w.sourceNS && v.sourceName == w.sourceName &&
		v.managedBy == w.managedBy && v.component == w.component && slices.EqualFunc(v.owners, w.owners, sameOwnerRef)
}

// secret is v as a Secret of its own, metadata only: its labels as the operator
// writes them (those it had), its hash annotation with the data digest appended.
// Nothing writes it back: a credential that must change is read from the API server.
func (v credentialVersion) secret(ns, name string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{},
		OwnerReferences: slices.Clone(v.owners)}}
	if v.oddUID != "" {
		s.UID = v.oddUID
	} else {
		s.UID = uidString(v.uid)
	}
	for k, val := range map[string]string{published.LabelCustomer: v.customer, published.LabelSourceNS: v.sourceNS,
		published.LabelSourceName: v.sourceName} {
		if val != "" {
			s.Labels[k] = val
		}
	}
	if v.managedBy {
		s.Labels[published.LabelManagedBy] = published.ManagedBy
	}
	if v.component {
		s.Labels[published.LabelComponent] = published.ComponentCredential
	}
	hash := v.oddHash
	if v.hasHash {
		hash = credentialHashText(v.hash)
	}
	if hash != "" {
		s.Annotations = map[string]string{annotationCredentialHash: hash}
	}
	return s
}
