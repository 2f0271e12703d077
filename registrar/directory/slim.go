package directory

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// The informers keep every object they watch for as long as it exists: at 100,000
// Extensions that is the registrar's memory. These transforms keep only what the
// event handlers read (and what an informer needs: name, namespace and
// resourceVersion), so each cached object costs a few hundred bytes.

// slimSecret keeps a published Secret's identity, the labels credentialFrom reads,
// and the data keys of a credential or the nonce key.
func slimSecret(o any) (any, error) {
	s, ok := o.(*corev1.Secret)
	if !ok {
		return stripManagedFields(o)
	}
	out := &corev1.Secret{ObjectMeta: slimMeta(&s.ObjectMeta)}
	keep := []string{published.KeyDomain, published.KeyExtension, published.KeyHA1MD5, published.KeyHA1SHA256, published.KeyMaxContacts}
	if s.Name == published.NonceKeySecretName {
		keep = []string{published.KeyNonceKey}
	} else {
		out.Labels = map[string]string{}
		for _, l := range []string{published.LabelSourceNS, published.LabelSourceName} {
			if v, ok := s.Labels[l]; ok {
				out.Labels[l] = v
			}
		}
	}
	out.Data = make(map[string][]byte, len(keep))
	for _, k := range keep {
		if v, ok := s.Data[k]; ok {
			out.Data[k] = v
		}
	}
	return out, nil
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

func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion, UID: m.UID}
}
