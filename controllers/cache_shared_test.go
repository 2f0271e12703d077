package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// cached returns the object the operator's cache holds under key itself, not the deep
// copy a Get hands out, which would not show what the cached objects share.
func cached[T client.Object](t *testing.T, c cache.Cache, example T, key client.ObjectKey) T {
	t.Helper()
	inf, err := c.GetInformer(context.Background(), example)
	if err != nil {
		t.Fatal(err)
	}
	var got T
	eventually(t, "the object in the operator's cache", func() error {
		obj, ok, err := inf.(toolscache.SharedIndexInformer).GetStore().GetByKey(key.String())
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("%s not cached yet", key)
		}
		got = obj.(T)
		return nil
	})
	return got
}

func sameBytes(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// TestCachedExtensionsShareRepeatedStrings: what one cached Extension repeats of
// itself shares its bytes (at 100,000 Extensions, each copy saved is 100,000).
func TestCachedExtensionsShareRepeatedStrings(t *testing.T) {
	ns := newNamespace(t)
	a, b := extension(ns, "ann", "d", "1006"), extension(ns, "ben", "d", "1007")
	mustCreate(t, domain(ns, "d", "shared-"+ns), a, b)
	readyIs(t, a, metav1.ConditionTrue, sipv1.ReasonReady)
	readyIs(t, b, metav1.ConditionTrue, sipv1.ReasonReady)
	c := operatorCache(t)

	var exts [2]*sipv1.Extension
	for i, e := range []*sipv1.Extension{a, b} {
		exts[i] = cached(t, c, &sipv1.Extension{}, client.ObjectKeyFromObject(e))
	}
	for _, e := range exts {
		msg := e.Status.Conditions[0].Message
		if aor := e.Status.AddressOfRecord; !sameBytes(aor, msg[len(msg)-len(aor):]) {
			t.Errorf("Extension %s: the address of record %q is a copy of the end of %q", e.Name, aor, msg)
		}
		if !sameBytes(e.Name, e.Status.PasswordSecret[:len(e.Name)]) {
			t.Errorf("Extension %s: its name is a copy of the beginning of %q", e.Name, e.Status.PasswordSecret)
		}
	}
}
