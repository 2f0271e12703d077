package directory

import (
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// The informers keep every object they watch for as long as it exists: at 100,000
// Extensions that is the registrar's memory. These transforms turn each object into
// a record of what the event handlers read, plus the identity an informer needs,
// so that each cached object costs about a hundred bytes besides its strings.

// credentialRecord is how the Secret informer stores a published credential: its
// identity and the Credential read from it once, which the lookup map shares. The
// Secret's data and labels are not kept twice.
type credentialRecord struct {
	identity
	cred *Credential // nil when the Secret is not a valid credential
}

// DeepCopyObject makes credentialRecord a runtime.Object, which the informer's
// store asks for; the Credential is never modified, so it is shared.
func (c *credentialRecord) DeepCopyObject() runtime.Object {
	cp := *c
	return &cp
}

// extensionRecord is how the Extension informer stores an Extension: its AOR and
// the entry the proxy reads, which the lookup map points into.
type extensionRecord struct {
	identity
	aor   string
	entry ExtensionEntry
}

// DeepCopyObject makes extensionRecord a runtime.Object; the bindings are never
// modified, so they are shared.
func (e *extensionRecord) DeepCopyObject() runtime.Object {
	cp := *e
	return &cp
}

// slimSecret turns a credential Secret into a credentialRecord, and keeps of the
// nonce-key Secret only its identity and key. It is idempotent, as an informer's
// transform must be.
func slimSecret(o any) (any, error) {
	s, ok := o.(*corev1.Secret)
	if !ok {
		return o, nil // already transformed, or a tombstone
	}
	if s.Name == published.NonceKeySecretName {
		// One object: a Secret keeps it simplest.
		out := &corev1.Secret{Data: map[string][]byte{published.KeyNonceKey: s.Data[published.KeyNonceKey]}}
		out.Name, out.Namespace, out.ResourceVersion = s.Name, s.Namespace, s.ResourceVersion
		return out, nil
	}
	return &credentialRecord{identity: identityOf(&s.ObjectMeta), cred: credentialFrom(s)}, nil
}

// slimExtension keeps what the proxy reads: the AOR, whether the Extension is
// disabled, and where its bindings are, how they are reached (flow and Path) and
// in which order (q); not their User-Agent, nor, but for connection-bound ones,
// their Call-ID, CSeq or registration time.
func slimExtension(o any) (any, error) {
	e, ok := o.(*sipv1.Extension)
	if !ok {
		return stripManagedFields(o)
	}
	out := &extensionRecord{identity: identityOf(&e.ObjectMeta), aor: e.Status.AddressOfRecord}
	out.entry = ExtensionEntry{Namespace: out.namespace, Name: out.name, Disabled: e.Spec.Disabled}
	if n := len(e.Status.Bindings); n > 0 {
		out.entry.Bindings = make([]sipv1.Binding, n)
		for i, b := range e.Status.Bindings {
			out.entry.Bindings[i] = sipv1.Binding{
				URI: b.URI, Registrar: b.Registrar, Source: b.Source, Transport: b.Transport, ExpiresAt: b.ExpiresAt,
				Instance: b.Instance, RegID: b.RegID, Path: b.Path, FlowRoute: b.FlowRoute, Q: b.Q,
			}
			if connectionBound(&b) {
				// Which of two replicas' registrations of a moved device stands
				// (location.Supersedes); UDP bindings, most of them, need it not.
				out.entry.Bindings[i].CallID, out.entry.Bindings[i].CSeq = b.CallID, b.CSeq
				out.entry.Bindings[i].RegisteredAt = b.RegisteredAt
			}
		}
	}
	return out, nil
}

// connectionBound is location.Binding.ConnectionBound for a status entry.
func connectionBound(b *sipv1.Binding) bool {
	return b.Path == "" && b.Transport != "" && !strings.EqualFold(b.Transport, "UDP")
}

// namespaces and domains intern names that many objects share: at 100,000 objects,
// one string each would cost megabytes for a few thousand distinct values. Names
// are never forgotten; there are as many as namespaces and domains ever served.
var (
	namespaces = &interner{m: map[string]string{}}
	domains    = &interner{m: map[string]string{}}
)

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

// internBytes is intern for bytes read from a Secret, without a copy when the name
// is known.
func (in *interner) internBytes(b []byte) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[string(b)]; ok {
		return v
	}
	s := string(b)
	in.m[s] = s
	return s
}
