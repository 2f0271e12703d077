package controllers

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// indexExtensionNumber files each Extension under one of numberBuckets buckets by a
// hash of its namespace, Domain and number, all namespaces together. An index by the
// number itself holds a set (a map) for each Extension, as numbers are unique: about
// 250 B each, 25 MB at 100,000. A bucket's set holds many, and a lookup reads the
// few of its bucket from the informer's store, without copying them, for the one
// number it wants (sameNumber).
const indexExtensionNumber = "sip.voipbin.net/number-bucket"

// numberBuckets bounds the index to that many sets: at 100,000 Extensions about 25
// in a bucket, filtered in a few hundred nanoseconds.
const numberBuckets = 4096

var (
	numberSeed       = maphash.MakeSeed()
	numberBucketKeys = func() []string {
		out := make([]string, numberBuckets)
		for i := range out {
			out[i] = strconv.Itoa(i)
		}
		return out
	}()
)

func numberBucket(namespace, domainRef, number string) string {
	var h maphash.Hash
	h.SetSeed(numberSeed)
	for _, s := range []string{namespace, domainRef, number} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	return numberBucketKeys[h.Sum64()%numberBuckets]
}

func indexByNumberBucket(obj any) ([]string, error) {
	e, ok := obj.(*sipv1.Extension)
	if !ok {
		return nil, fmt.Errorf("indexing extensions: got a %T", obj)
	}
	return []string{numberBucket(e.Namespace, e.Spec.DomainRef, e.Spec.Extension)}, nil
}

// sameNumber returns the Extensions of namespace that claim number of domainRef, as
// the informer's store holds them: read them, never modify them.
func sameNumber(extensions toolscache.Indexer, namespace, domainRef, number string) ([]*sipv1.Extension, error) {
	objs, err := extensions.ByIndex(indexExtensionNumber, numberBucket(namespace, domainRef, number))
	if err != nil {
		return nil, fmt.Errorf("while looking up extensions with the same number: %w", err)
	}
	var out []*sipv1.Extension
	for _, o := range objs {
		if e, ok := o.(*sipv1.Extension); ok && e.Namespace == namespace && e.Spec.DomainRef == domainRef && e.Spec.Extension == number {
			out = append(out, e)
		}
	}
	return out, nil
}

// extensionsIndexer is the store of the cache's Extension informer, for sameNumber.
func extensionsIndexer(ctx context.Context, c cache.Cache) (toolscache.Indexer, error) {
	inf, err := c.GetInformer(ctx, &sipv1.Extension{})
	if err != nil {
		return nil, fmt.Errorf("while getting the informer of extensions: %w", err)
	}
	sii, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("while getting the store of extensions: the informer is a %T", inf)
	}
	return sii.GetIndexer(), nil
}
