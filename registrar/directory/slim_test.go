package directory

import (
	"reflect"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

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
			published.KeyAlgorithms: []byte("SHA-256"), "unrelated": []byte("dropped"),
		},
	}
	o, err := slimSecret(full)
	if err != nil {
		t.Fatal(err)
	}
	slim := o.(*credentialRecord)
	want := Credential{
		Namespace: "tenant", Name: "phone", Extension: "1001", Domain: "acme.example", AOR: "1001@acme.example",
		HA1MD5: "md5", HA1SHA256: "sha", MaxContacts: 3, Algorithms: []sipv1.DigestAlgorithm{sipv1.DigestSHA256},
		secret: "sip-cred-acme-1001",
	}
	if slim.cred == nil || !reflect.DeepEqual(*slim.cred, want) {
		t.Fatalf("credential %+v, want %+v", slim.cred, want)
	}
	assertIdentity(t, slim, full.Name, full.Namespace, "42")
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
				Instance: "<urn:uuid:1>", RegID: 1, Path: "<sip:edge.example;lr>", FlowRoute: "sip:10.0.0.1:5060;transport=tcp;lr;ob",
				Q: "0.5",
			}},
		},
	}
	o, err := slimExtension(full)
	if err != nil {
		t.Fatal(err)
	}
	slim := o.(*extensionRecord)
	assertIdentity(t, slim, "phone", "tenant", "7")
	if !slim.entry.Disabled || slim.aor != "1001@acme.example" || slim.entry.Name != "phone" || slim.entry.Namespace != "tenant" {
		t.Errorf("slim Extension lost what the proxy reads: %+v", slim)
	}
	b := slim.entry.Bindings
	if len(b) != 1 || b[0].URI != "sip:1001@192.0.2.1" || b[0].Registrar != "replica-a" || b[0].Source != "192.0.2.1:5060" ||
		b[0].Transport != "UDP" || !b[0].ExpiresAt.Equal(&exp) {
		t.Errorf("bindings %+v", b)
	}
	// How the binding is reached: its flow, the replica to relay to, its Path.
	if b[0].Instance != "<urn:uuid:1>" || b[0].RegID != 1 || b[0].Path == "" || b[0].FlowRoute == "" {
		t.Errorf("slim Extension lost the flow or Path: %+v", b[0])
	}
	// In which order calls try it.
	if b[0].Q != "0.5" {
		t.Errorf("slim Extension lost the q: %+v", b[0])
	}
	if b[0].UserAgent != "" || b[0].CallID != "" || b[0].CSeq != 0 {
		t.Errorf("slim Extension keeps more than the proxy reads: %+v", b[0])
	}
	if again, _ := slimExtension(slim); again != any(slim) {
		t.Errorf("transform not idempotent: %+v", again)
	}
}

// assertIdentity checks what an informer's store reads of a record: its key and
// resourceVersion, through the same accessor the informer uses.
func assertIdentity(t *testing.T, o any, name, namespace, resourceVersion string) {
	t.Helper()
	m, err := meta.Accessor(o)
	if err != nil {
		t.Fatalf("an informer cannot read %T: %v", o, err)
	}
	if m.GetName() != name || m.GetNamespace() != namespace || m.GetResourceVersion() != resourceVersion {
		t.Errorf("identity %s/%s@%s, want %s/%s@%s", m.GetNamespace(), m.GetName(), m.GetResourceVersion(), namespace, name, resourceVersion)
	}
	if key, err := cache.MetaNamespaceKeyFunc(o); err != nil || key != namespace+"/"+name {
		t.Errorf("store key %q (%v), want %s/%s", key, err, namespace, name)
	}
	if len(m.GetLabels()) > 0 || len(m.GetAnnotations()) > 0 || m.GetUID() != "" {
		t.Errorf("record keeps more metadata than its identity: %+v", m)
	}
}

// A credential Secret deleted after its AOR went to another Extension's Secret leaves
// the new holder alone: its bindings must not be dropped.
func TestDeletingAStaleCredentialKeepsTheNewHolder(t *testing.T) {
	c, removed := emptyPublished()
	secret := credentialOf1001
	old, holder := secret("old", "first"), secret("new", "second")
	c.putSecret(nil, old)
	c.putSecret(nil, holder)
	c.deleteSecret(old)
	if cr, ok := c.ByAOR("1001@acme.example"); !ok || cr.Name != "second" {
		t.Fatalf("the new holder's credential is gone: %+v", cr)
	}
	if len(*removed) != 0 {
		t.Errorf("bindings of %v dropped for a stale Secret", *removed)
	}
	c.deleteSecret(holder)
	if _, ok := c.ByAOR("1001@acme.example"); ok || len(*removed) != 1 {
		t.Errorf("deleting the holder's Secret: still known, or removals %v", *removed)
	}
}

// While the operator renames an Extension's credential Secret, both names carry the
// AOR; a registrar may list them in either order. Deleting the old one must leave the
// credential and the bindings: the new Secret still says the extension may register.
func TestDeletingTheOldNameOfARenamedCredentialKeepsIt(t *testing.T) {
	for _, order := range []string{"old first", "new first"} {
		t.Run(order, func(t *testing.T) {
			c, removed := emptyPublished()
			old := credentialOf1001(published.LegacyCredentialSecretName("acme", "1001"), "phone")
			renamed := credentialOf1001(published.CredentialSecretName("acme", "1001"), "phone")
			if order == "old first" {
				c.putSecret(nil, old)
				c.putSecret(nil, renamed)
			} else {
				c.putSecret(nil, renamed)
				c.putSecret(nil, old)
			}
			c.deleteSecret(old)
			if _, ok := c.ByAOR("1001@acme.example"); !ok {
				t.Fatal("the credential is gone with the old Secret, though the new one carries it")
			}
			if len(*removed) != 0 {
				t.Fatalf("bindings of %v dropped for a renamed Secret", *removed)
			}
			c.deleteSecret(renamed)
			if _, ok := c.ByAOR("1001@acme.example"); ok || len(*removed) != 1 {
				t.Errorf("deleting the last Secret: still known, or removals %v", *removed)
			}
		})
	}
}

// When the Secret in use goes and another Extension's Secret carries the AOR, that
// one takes over, and the bindings made with the first one's password go.
func TestAnotherExtensionsSecretTakesOverWithoutItsPredecessorsBindings(t *testing.T) {
	c, removed := emptyPublished()
	secret := credentialOf1001
	other, inUse := secret("other", "second"), secret("in-use", "first")
	c.putSecret(nil, other)
	c.putSecret(nil, inUse)
	c.deleteSecret(inUse)
	if cr, ok := c.ByAOR("1001@acme.example"); !ok || cr.Name != "second" {
		t.Fatalf("credential %+v, want the other Extension's", cr)
	}
	if len(*removed) != 1 {
		t.Errorf("removals %v, want the first Extension's bindings dropped once", *removed)
	}
}

// emptyPublished is an empty Published directory that records the AORs whose
// bindings it drops.
func emptyPublished() (*Published, *[]string) {
	removed := new([]string)
	c := NewPublished(PublishedConfig{
		Namespace:           "registrar-system",
		OnCredentialRemoved: func(aor string) { *removed = append(*removed, aor) },
		Log:                 logr.Discard(),
	})
	return c, removed
}

// credentialOf1001 is the slim record of a credential Secret name for
// 1001@acme.example, published for the Extension tenant/source.
func credentialOf1001(name, source string) any {
	o, _ := slimSecret(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "registrar-system",
			Labels: map[string]string{published.LabelSourceNS: "tenant", published.LabelSourceName: source}},
		Data: map[string][]byte{published.KeyDomain: []byte("acme.example"), published.KeyExtension: []byte("1001")},
	})
	return o
}

// A connection-bound binding keeps what tells which of two replicas'
// registrations of it is newer (status.Writer.Reconcile); a UDP one does not.
func TestSlimExtensionKeepsTheRegistrationOfConnectionBoundBindings(t *testing.T) {
	reg := metav1.NewTime(time.Unix(1000, 0))
	binding := func(transport string) sipv1.Binding {
		return sipv1.Binding{URI: "sip:1001@x.invalid;transport=" + transport, Registrar: "replica-a", Transport: transport,
			CallID: "c", CSeq: 9, RegisteredAt: reg}
	}
	full := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Name: "phone", Namespace: "tenant"},
		Status: sipv1.ExtensionStatus{AddressOfRecord: "1001@acme.example", Bindings: []sipv1.Binding{binding("TCP"), binding("UDP")}}}
	o, err := slimExtension(full)
	if err != nil {
		t.Fatal(err)
	}
	b := o.(*extensionRecord).entry.Bindings
	if b[0].CallID != "c" || b[0].CSeq != 9 || !b[0].RegisteredAt.Equal(&reg) {
		t.Errorf("the TCP binding lost its registration: %+v", b[0])
	}
	if b[1].CallID != "" || b[1].CSeq != 0 || !b[1].RegisteredAt.IsZero() {
		t.Errorf("the UDP binding keeps its registration: %+v", b[1])
	}
}
