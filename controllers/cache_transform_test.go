package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
)

// The transform keeps the data of no Secret derived from an Extension, and keeps a
// credential's hash annotation only while its data matches it.
func TestSlimForCacheDropsDerivedDataOnly(t *testing.T) {
	data := func() map[string][]byte {
		return map[string][]byte{published.KeyExtension: []byte("1001"), published.KeyHA1MD5: []byte("0123")}
	}
	secret := func(component string, annotation string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{
			published.LabelManagedBy: published.ManagedBy, published.LabelComponent: component}}, Data: data()}
		if annotation != "" {
			s.Annotations = map[string]string{annotationCredentialHash: annotation}
		}
		return s
	}
	current := credentialHash("inputs", credentialDataSum(data()))
	for _, c := range []struct {
		name           string
		in             *corev1.Secret
		keepData       bool
		keepAnnotation bool
	}{
		{"credential as written", secret(published.ComponentCredential, current), false, true},
		{"credential edited by hand", secret(published.ComponentCredential, credentialHash("inputs", "other")), false, false},
		{"generated password", secret(componentPassword, ""), false, false},
		{"nonce key", secret(published.ComponentNonceKey, ""), true, false},
	} {
		out, err := slimForCache(c.in)
		if err != nil {
			t.Fatal(err)
		}
		s := out.(*corev1.Secret)
		if (len(s.Data) > 0) != c.keepData {
			t.Errorf("%s: data kept %v, want %v", c.name, len(s.Data) > 0, c.keepData)
		}
		if _, ok := s.Annotations[annotationCredentialHash]; ok != c.keepAnnotation {
			t.Errorf("%s: annotation kept %v, want %v", c.name, ok, c.keepAnnotation)
		}
	}
}
