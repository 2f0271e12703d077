package directory

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// The informers keep every object they watch for as long as it exists: at 100,000
// Extensions that is the registrar's memory. These transforms keep only what the
// event handlers read (and what an informer needs: name, namespace and
// resourceVersion), so each cached object costs a few hundred bytes.

// credentialSecret is how the Secret informer stores a published credential: its
// identity and the Credential read from it once, which the lookup map shares. The
// Secret's data and labels are not kept twice.
type credentialSecret struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	cred *Credential // nil when the Secret is not a valid credential
}

// DeepCopyObject makes credentialSecret a runtime.Object, which the informer's
// store asks for; the Credential is never modified, so it is shared.
func (c *credentialSecret) DeepCopyObject() runtime.Object {
	cp := *c
	c.DeepCopyInto(&cp.ObjectMeta)
	return &cp
}

// slimSecret turns a credential Secret into a credentialSecret, and keeps of the
// nonce-key Secret only its identity and key. It is idempotent, as an informer's
// transform must be.
func slimSecret(o any) (any, error) {
	s, ok := o.(*corev1.Secret)
	if !ok {
		return o, nil // already transformed, or a tombstone
	}
	if s.Name == published.NonceKeySecretName {
		return &corev1.Secret{
			ObjectMeta: slimMeta(&s.ObjectMeta),
			Data:       map[string][]byte{published.KeyNonceKey: s.Data[published.KeyNonceKey]},
		}, nil
	}
	return &credentialSecret{ObjectMeta: slimMeta(&s.ObjectMeta), cred: credentialFrom(s)}, nil
}

// slimExtension keeps what the proxy reads: the AOR, whether the Extension is
// disabled, and where its bindings are (not their User-Agent, Call-ID or times
// other than the expiry).
func slimExtension(o any) (any, error) {
	e, ok := o.(*sipv1.Extension)
	if !ok {
		return stripManagedFields(o)
	}
	out := &sipv1.Extension{ObjectMeta: slimMeta(&e.ObjectMeta)}
	out.Spec.Disabled = e.Spec.Disabled
	out.Status.AddressOfRecord = e.Status.AddressOfRecord
	if n := len(e.Status.Bindings); n > 0 {
		out.Status.Bindings = make([]sipv1.Binding, n)
		for i, b := range e.Status.Bindings {
			out.Status.Bindings[i] = sipv1.Binding{
				URI: b.URI, Registrar: b.Registrar, Source: b.Source, Transport: b.Transport, ExpiresAt: b.ExpiresAt,
			}
		}
	}
	return out, nil
}

// slimMeta keeps what an informer's store needs: namespace/name is its key, and the
// resourceVersion tells a resync what changed. The namespace is shared with every
// other object of it (a whole namespace of Secrets here, a tenant's Extensions).
func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: namespaces.intern(m.Namespace), ResourceVersion: m.ResourceVersion}
}

// namespaces interns namespace names: at 100,000 objects, one string each would
// cost some 3 MB for a few hundred distinct values.
var namespaces = &interner{m: map[string]string{}}

type interner struct {
	mu sync.Mutex
	m  map[string]string
}

func (in *interner) intern(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	in.m[s] = s
	return s
}
