package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
)

// The transform keeps the data of no Secret derived from an Extension, and keeps with
// a credential's hash annotation the digest of its data, by which the reconciler tells
// a credential edited by hand.
func TestSlimForCacheDropsDerivedDataOnly(t *testing.T) {
	data := func() map[string][]byte {
		return map[string][]byte{published.KeyExtension: []byte("1001"), published.KeyHA1MD5: []byte("0123")}
	}
	key := deriveCredentialHashKey([]byte("0123456789abcdef"))
	inputs := credentialInputs{secretUID: "uid", secretVersion: "1", realm: "r", plain: map[string][]byte{published.KeyExtension: []byte("1001")}}
	secret := func(component string, annotation string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{
			published.LabelManagedBy: published.ManagedBy, published.LabelComponent: component}}, Data: data()}
		if annotation != "" {
			s.Annotations = map[string]string{annotationCredentialHash: annotation}
		}
		return s
	}
	current := credentialHash(key, inputs, data())
	edited := secret(published.ComponentCredential, current)
	edited.Data[published.KeyHA1MD5] = []byte("4567")
	for _, c := range []struct {
		name           string
		in             *corev1.Secret
		keepData       bool
		keepAnnotation bool
		current        bool
	}{
		{"credential as written", secret(published.ComponentCredential, current), false, true, true},
		{"credential's data edited by hand", edited, false, true, false},
		{"credential's annotation edited by hand", secret(published.ComponentCredential, credentialHash(key, inputs, nil)), false, true, false},
		{"credential summed under another key", secret(published.ComponentCredential,
			credentialHash(deriveCredentialHashKey([]byte("fedcba9876543210")), inputs, data())), false, true, false},
		{"credential without annotation", secret(published.ComponentCredential, ""), false, false, false},
		{"generated password", secret(componentPassword, ""), false, false, false},
		{"nonce key", secret(published.ComponentNonceKey, ""), true, false, false},
	} {
		out, err := slimForCache(c.in)
		if err != nil {
			t.Fatal(err)
		}
		s := out.(*corev1.Secret)
		if (len(s.Data) > 0) != c.keepData {
			t.Errorf("%s: data kept %v, want %v", c.name, len(s.Data) > 0, c.keepData)
		}
		if ok := cachedCredentialHash(s) != ""; ok != c.keepAnnotation {
			t.Errorf("%s: annotation kept %v, want %v", c.name, ok, c.keepAnnotation)
		}
		if s.Annotations != nil {
			t.Errorf("%s: the cache keeps a map of annotations %v", c.name, s.Annotations)
		}
		if got := credentialIsCurrent(s, key, inputs); got != c.current {
			t.Errorf("%s: current %v, want %v", c.name, got, c.current)
		}
	}
}
