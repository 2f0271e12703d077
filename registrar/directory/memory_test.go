package directory

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// BenchmarkDirectoryMemory measures what the registrar keeps per Extension: its
// published credential Secret and the Extension itself, each as an informer stores
// it (an indexer by namespace/name; the Extensions' also by namespace, as
// controller-runtime's cache indexes), plus the directory's lookup maps. Objects are
// decoded from JSON one by one, as a watch delivers them, so each keeps its own
// strings. "full" stores them as they arrive (managed fields stripped), "slim"
// through the transforms the registrar uses.
//
//	go test -run XXX -bench DirectoryMemory -benchtime 1x ./registrar/directory/
func BenchmarkDirectoryMemory(b *testing.B) {
	const n = 100_000
	for _, tc := range []struct {
		name         string
		secret, ext  cache.TransformFunc
		sharedLookup bool
	}{
		{"full", stripManagedFields, stripManagedFields, false},
		{"slim", slimSecret, slimExtension, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				perExt := retainedPerExtension(b, n, tc.secret, tc.ext)
				b.ReportMetric(perExt, "B/extension")
				b.ReportMetric(perExt*n/(1<<20), "MB/100k")
			}
		})
	}
}

func retainedPerExtension(b *testing.B, n int, secretT, extT cache.TransformFunc) float64 {
	before := heapInUse()
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	exts := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	dir := NewPublished(PublishedConfig{Namespace: "registrar-system", Log: logr.Discard()})
	x := &Extensions{log: logr.Discard(), byAOR: map[string]*ExtensionEntry{}}
	for i := range n {
		s, e := decodedPair(b, i)
		so, err := secretT(s)
		if err != nil {
			b.Fatal(err)
		}
		eo, err := extT(e)
		if err != nil {
			b.Fatal(err)
		}
		if err := secrets.Add(so); err != nil {
			b.Fatal(err)
		}
		if err := exts.Add(eo); err != nil {
			b.Fatal(err)
		}
		if full, ok := so.(*corev1.Secret); ok {
			// Before the transforms: the Secret stored whole and a Credential built from it.
			cr := credentialFrom(full)
			dir.creds[cr.AOR] = cr
		} else {
			dir.putSecret(nil, so)
		}
		if full, ok := eo.(*sipv1.Extension); ok {
			// Before the records: the Extension stored whole and an entry built from it.
			x.byAOR[full.Status.AddressOfRecord] = &ExtensionEntry{Namespace: full.Namespace, Name: full.Name, Disabled: full.Spec.Disabled}
		} else {
			x.put(nil, eo)
		}
	}
	after := heapInUse()
	runtime.KeepAlive(secrets)
	runtime.KeepAlive(exts)
	runtime.KeepAlive(dir)
	runtime.KeepAlive(x)
	return float64(after-before) / float64(n)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// decodedPair is the i-th Extension and its credential Secret as the operator writes
// them, decoded from JSON.
func decodedPair(b *testing.B, i int) (*corev1.Secret, *sipv1.Extension) {
	cid, ext := fmt.Sprintf("c%05d", i/100), fmt.Sprint(1000+i%100)
	domain := cid + ".registrar.voipbin.net"
	now := metav1.NewTime(time.Unix(1_795_000_000, 0))
	s := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "sip-cred-" + cid + "-" + ext, Namespace: "registrar-system", ResourceVersion: fmt.Sprint(100000 + i),
			UID: types.UID(fmt.Sprintf("6f1c2a34-0000-4000-8000-%012d", i)), CreationTimestamp: now,
			Labels: map[string]string{
				published.LabelComponent: published.ComponentCredential, published.LabelManagedBy: "registrar-operator",
				published.LabelCustomer: cid, published.LabelSourceNS: "tenant-" + cid, published.LabelSourceName: "ext-" + ext,
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "registrar-operator", Operation: metav1.ManagedFieldsOperationApply}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			published.KeyDomain: []byte(domain), published.KeyExtension: []byte(ext), published.KeyMaxContacts: []byte("3"),
			published.KeyHA1MD5:    []byte(fmt.Sprintf("%032x", i)),
			published.KeyHA1SHA256: []byte(fmt.Sprintf("%064x", i)),
		},
	}
	e := sipv1.Extension{
		ObjectMeta: metav1.ObjectMeta{
			Name: "ext-" + ext, Namespace: "tenant-" + cid, ResourceVersion: fmt.Sprint(200000 + i), Generation: 1,
			UID: types.UID(fmt.Sprintf("7f1c2a34-0000-4000-8000-%012d", i)), CreationTimestamp: now,
			Finalizers: []string{"sip.voipbin.net/published"},
		},
		Spec: sipv1.ExtensionSpec{DomainRef: "domain", Extension: ext},
		Status: sipv1.ExtensionStatus{
			AddressOfRecord: ext + "@" + domain, ObservedGeneration: 1,
			Conditions: []metav1.Condition{
				{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", Message: "registrars accept " + ext + "@" + domain, LastTransitionTime: now, ObservedGeneration: 1},
				{Type: "Reconciling", Status: metav1.ConditionFalse, Reason: "Ready", LastTransitionTime: now, ObservedGeneration: 1},
				{Type: "Stalled", Status: metav1.ConditionFalse, Reason: "Ready", LastTransitionTime: now, ObservedGeneration: 1},
			},
		},
	}
	return roundTrip(b, &s), roundTrip(b, &e)
}

func roundTrip[T any](b *testing.B, v *T) *T {
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		b.Fatal(err)
	}
	return out
}
