package controllers

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// More Extensions than buckets share buckets: a lookup returns those of its number,
// Domain and namespace, never another's of the same bucket, and the index holds no
// more sets than buckets.
func TestSameNumberFindsOnlyItsOwnAmongItsBucket(t *testing.T) {
	store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexExtensionNumber: indexByNumberBucket})
	ext := func(ns, name, domain, number string) *sipv1.Extension {
		return &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sipv1.ExtensionSpec{DomainRef: domain, Extension: number}}
	}
	const n = 3 * numberBuckets
	for i := range n {
		for _, ns := range []string{"a", "b"} {
			if err := store.Add(ext(ns, fmt.Sprintf("e%d", i), fmt.Sprintf("d%d", i%7), fmt.Sprint(1000+i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A duplicate number: both claimants are found.
	if err := store.Add(ext("a", "dup", "d3", "1003")); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		want := 1
		if i == 3 {
			want = 2
		}
		got, err := sameNumber(store, "a", fmt.Sprintf("d%d", i%7), fmt.Sprint(1000+i))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("number %d: %d Extensions found, want %d", 1000+i, len(got), want)
		}
		for _, e := range got {
			if e.Namespace != "a" || e.Spec.Extension != fmt.Sprint(1000+i) {
				t.Fatalf("number %d: found %s/%s of number %s", 1000+i, e.Namespace, e.Name, e.Spec.Extension)
			}
		}
	}
	if sets := len(store.ListIndexFuncValues(indexExtensionNumber)); sets > numberBuckets {
		t.Errorf("the number index holds %d sets for %d Extensions, more than its %d buckets", sets, 2*n+1, numberBuckets)
	}
}
