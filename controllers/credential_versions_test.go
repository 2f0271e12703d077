package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/voipbin/registrar-operator/api/published"
)

// TestCredentialVersionsGiveBackWhatAReconcileReads: what the watch of credentials
// keeps in compact form reads back as the cache held it (labels, owner references,
// UID, the hash with its data digest), and a UID or hash of another form is kept as
// it is rather than misread.
func TestCredentialVersionsGiveBackWhatAReconcileReads(t *testing.T) {
	key := deriveCredentialHashKey([]byte("a nonce key of the test, 32 B!!!"))
	data := map[string][]byte{published.KeyExtension: []byte("1001"), published.KeyHA1MD5: []byte("0123")}
	anchor := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "anchor", UID: "5f0c2a7e-1111-4222-8333-944455556666"}
	for _, tc := range []struct {
		name string
		uid  string
		hash string
	}{
		{"as written", "0a1b2c3d-0000-4000-8000-00000000abcd", credentialHash(key, credentialInputs{realm: "r"}, data)},
		{"odd UID and hash", "not-a-uuid", "hand-written"},
		{"no hash", "0a1b2c3d-0000-4000-8000-00000000abcd", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "registrar-system", Name: "cred",
				Labels:          sourceLabels(published.ComponentCredential, "acme", "pbx", "alice"),
				OwnerReferences: []metav1.OwnerReference{anchor}}, Data: data}
			s.UID = types.UID(tc.uid)
			if tc.hash != "" {
				s.Annotations = map[string]string{annotationCredentialHash: tc.hash}
			}
			c := credentialStore(nil, "registrar-system")
			if err := c.Update(s.DeepCopy()); err != nil {
				t.Fatal(err)
			}
			got, ok := c.get(types.NamespacedName{Namespace: s.Namespace, Name: s.Name})
			if !ok {
				t.Fatal("not found")
			}
			if got.UID != s.UID || !equality.Semantic.DeepEqual(got.Labels, s.Labels) ||
				!equality.Semantic.DeepEqual(got.OwnerReferences, s.OwnerReferences) {
				t.Errorf("read back %+v, want the metadata of %+v", got.ObjectMeta, s.ObjectMeta)
			}
			if want := withCachedDataDigest(tc.hash, data); got.Annotations[annotationCredentialHash] != want {
				t.Errorf("hash read back %q, want %q", got.Annotations[annotationCredentialHash], want)
			}
			if len(got.Data) > 0 {
				t.Error("the data was kept")
			}
			if n := len(c.publishedFrom("pbx", "alice")); n != 1 {
				t.Errorf("%d credentials published from pbx/alice, want 1", n)
			}
			got.OwnerReferences[0].Name, got.Labels[published.LabelSourceName] = "changed", "changed"
			if again, _ := c.get(types.NamespacedName{Namespace: s.Namespace, Name: s.Name}); again.OwnerReferences[0].Name != "anchor" || again.Labels[published.LabelSourceName] != "alice" {
				t.Error("a copy handed out writes through to the watch's own")
			}
			if err := c.Delete(s); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.get(types.NamespacedName{Namespace: s.Namespace, Name: s.Name}); ok {
				t.Error("found after its delete")
			}
		})
	}
}
