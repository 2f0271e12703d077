package directory

import (
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

func TestSlimSecretKeepsWhatACredentialNeeds(t *testing.T) {
	full := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "sip-cred-acme-1001", Namespace: "registrar-system", ResourceVersion: "42",
			Labels: map[string]string{
				published.LabelSourceNS: "tenant", published.LabelSourceName: "phone", published.LabelComponent: published.ComponentCredential,
			},
			Annotations:     map[string]string{"note": "x"},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "operator"}},
			OwnerReferences: []metav1.OwnerReference{{Name: "x"}},
		},
		Data: map[string][]byte{
			published.KeyDomain: []byte("acme.example"), published.KeyExtension: []byte("1001"),
			published.KeyHA1MD5: []byte("md5"), published.KeyHA1SHA256: []byte("sha"), published.KeyMaxContacts: []byte("3"),
			"unrelated": []byte("dropped"),
		},
	}
	o, err := slimSecret(full)
	if err != nil {
		t.Fatal(err)
	}
	slim := o.(*credentialSecret)
	if want := credentialFrom(full); slim.cred == nil || *slim.cred != *want {
		t.Fatalf("credential %+v, want %+v", slim.cred, want)
	}
	if slim.Name != full.Name || slim.Namespace != full.Namespace || slim.ResourceVersion != "42" {
		t.Errorf("identity lost: %+v", slim.ObjectMeta)
	}
	if len(slim.Annotations) > 0 || len(slim.ManagedFields) > 0 || len(slim.OwnerReferences) > 0 || len(slim.Labels) > 0 {
		t.Errorf("slim Secret keeps more than it needs: %+v", slim.ObjectMeta)
	}
	// An informer may hand a transform what it already transformed.
	if again, _ := slimSecret(slim); again != any(slim) {
		t.Errorf("transform not idempotent: %+v", again)
	}
}

func TestSlimSecretKeepsTheNonceKey(t *testing.T) {
	o, _ := slimSecret(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: published.NonceKeySecretName, Namespace: "registrar-system"},
		Data:       map[string][]byte{published.KeyNonceKey: []byte("0123456789abcdef0123456789abcdef")},
	})
	if got := string(o.(*corev1.Secret).Data[published.KeyNonceKey]); got != "0123456789abcdef0123456789abcdef" {
		t.Errorf("nonce key %q", got)
	}
}

func TestSlimExtensionKeepsWhatTheProxyRoutesBy(t *testing.T) {
	exp := metav1.NewTime(time.Unix(2000, 0))
	full := &sipv1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: "phone", Namespace: "tenant", ResourceVersion: "7", Labels: map[string]string{"a": "b"}},
		Spec:       sipv1.ExtensionSpec{Disabled: true, Extension: "1001"},
		Status: sipv1.ExtensionStatus{
			AddressOfRecord: "1001@acme.example",
			Conditions:      []metav1.Condition{{Type: "Ready"}},
			Bindings: []sipv1.Binding{{
				URI: "sip:1001@192.0.2.1", Registrar: "replica-a", Source: "192.0.2.1:5060", Transport: "UDP", ExpiresAt: exp,
				UserAgent: "phone/1", CallID: "c", CSeq: 9,
			}},
		},
	}
	o, err := slimExtension(full)
	if err != nil {
		t.Fatal(err)
	}
	slim := o.(*sipv1.Extension)
	if !slim.Spec.Disabled || slim.Status.AddressOfRecord != "1001@acme.example" || slim.Name != "phone" || slim.Namespace != "tenant" || slim.ResourceVersion != "7" {
		t.Errorf("slim Extension lost what the proxy reads: %+v", slim)
	}
	b := slim.Status.Bindings
	if len(b) != 1 || b[0].URI != "sip:1001@192.0.2.1" || b[0].Registrar != "replica-a" || b[0].Source != "192.0.2.1:5060" ||
		b[0].Transport != "UDP" || !b[0].ExpiresAt.Equal(&exp) {
		t.Errorf("bindings %+v", b)
	}
	if b[0].UserAgent != "" || len(slim.Status.Conditions) > 0 || len(slim.Labels) > 0 {
		t.Errorf("slim Extension keeps more than it needs: %+v", slim)
	}
}

// A credential Secret deleted after its AOR went to another Extension's Secret leaves
// the new holder alone: its bindings must not be dropped.
func TestDeletingAStaleCredentialKeepsTheNewHolder(t *testing.T) {
	c := NewCluster(nil, "registrar-system", logr.Discard())
	var removed []string
	c.OnCredentialRemoved = func(aor string) { removed = append(removed, aor) }
	secret := func(name, source string) any {
		o, _ := slimSecret(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "registrar-system",
				Labels: map[string]string{published.LabelSourceNS: "tenant", published.LabelSourceName: source}},
			Data: map[string][]byte{published.KeyDomain: []byte("acme.example"), published.KeyExtension: []byte("1001")},
		})
		return o
	}
	old, holder := secret("old", "first"), secret("new", "second")
	c.putSecret(nil, old)
	c.putSecret(nil, holder)
	c.deleteSecret(old)
	if cr, ok := c.ByAOR("1001@acme.example"); !ok || cr.Name != "second" {
		t.Fatalf("the new holder's credential is gone: %+v", cr)
	}
	if len(removed) != 0 {
		t.Errorf("bindings of %v dropped for a stale Secret", removed)
	}
	c.deleteSecret(holder)
	if _, ok := c.ByAOR("1001@acme.example"); ok || len(removed) != 1 {
		t.Errorf("deleting the holder's Secret: still known, or removals %v", removed)
	}
}
