package controllers_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
)

// A deleted nonce key is published anew, with a new key: registrars wait for one.
func TestDeletedNonceKeyIsPublishedAgain(t *testing.T) {
	ctx := context.Background()
	key := &corev1.Secret{}
	name := client.ObjectKey{Namespace: registrarNS, Name: published.NonceKeySecretName}
	eventually(t, "the nonce key", func() error { return k8s.Get(ctx, name, key) })
	if err := k8s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	again := &corev1.Secret{}
	eventually(t, "the nonce key published again", func() error {
		if err := k8s.Get(ctx, name, again); err != nil {
			return err
		}
		if again.UID == key.UID {
			return fmt.Errorf("still the deleted one")
		}
		return nil
	})
	if k := again.Data[published.KeyNonceKey]; len(k) != 32 || bytes.Equal(k, key.Data[published.KeyNonceKey]) {
		t.Errorf("new nonce key of %d bytes, equal to the old one: %t", len(k), bytes.Equal(k, key.Data[published.KeyNonceKey]))
	}
}
