package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
)

// The credential watch keeps the data of no credential, and keeps with its hash
// annotation the digest of its data, by which the reconciler tells a credential
// edited by hand.
func TestCredentialWatchTellsACredentialEditedByHand(t *testing.T) {
	data := func() map[string][]byte {
		return map[string][]byte{published.KeyExtension: []byte("1001"), published.KeyHA1MD5: []byte("0123")}
	}
	key := deriveCredentialHashKey([]byte("0123456789abcdef"))
	inputs := credentialInputs{secretUID: "uid", secretVersion: "1", realm: "r", plain: map[string][]byte{published.KeyExtension: []byte("1001")}}
	credential := func(annotation string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "registrar-system", Name: "s", Labels: map[string]string{
			published.LabelManagedBy: published.ManagedBy, published.LabelComponent: published.ComponentCredential}}, Data: data()}
		if annotation != "" {
			s.Annotations = map[string]string{annotationCredentialHash: annotation}
		}
		return s
	}
	current := credentialHash(key, inputs, data())
	edited := credential(current)
	edited.Data[published.KeyHA1MD5] = []byte("4567")
	for _, c := range []struct {
		name           string
		in             *corev1.Secret
		keepAnnotation bool
		current        bool
	}{
		{"as written", credential(current), true, true},
		{"data edited by hand", edited, true, false},
		{"annotation edited by hand", credential(credentialHash(key, inputs, nil)), true, false},
		{"summed under another key", credential(credentialHash(deriveCredentialHashKey([]byte("fedcba9876543210")), inputs, data())), true, false},
		{"without annotation", credential(""), false, false},
	} {
		w := credentialStore(nil, c.in.Namespace)
		if err := w.Update(c.in); err != nil {
			t.Fatal(err)
		}
		s, ok := w.get(client.ObjectKeyFromObject(c.in))
		if !ok {
			t.Fatalf("%s: the watch lost the credential", c.name)
		}
		if len(s.Data) > 0 {
			t.Errorf("%s: the watch kept the data", c.name)
		}
		if _, ok := s.Annotations[annotationCredentialHash]; ok != c.keepAnnotation {
			t.Errorf("%s: annotation kept %v, want %v", c.name, ok, c.keepAnnotation)
		}
		if got := credentialIsCurrent(s, key, inputs); got != c.current {
			t.Errorf("%s: current %v, want %v", c.name, got, c.current)
		}
	}
}

// The nonce key, which the operator reads, keeps its data in the cache.
func TestSlimForCacheKeepsTheNonceKey(t *testing.T) {
	in := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{
		published.LabelManagedBy: published.ManagedBy, published.LabelComponent: published.ComponentNonceKey}},
		Data: map[string][]byte{"key": []byte("0123456789abcdef")}}
	out, err := slimForCache(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.(*corev1.Secret).Data) == 0 {
		t.Error("the transform dropped the nonce key's data")
	}
}
