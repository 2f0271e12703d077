package location

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// ToAPI converts b to the Extension status form, held by registrar (the pod name).
// Note that metav1.Time serialises with one-second precision.
func (b Binding) ToAPI(registrar string) sipv1.Binding {
	out := sipv1.Binding{
		URI:       b.URI,
		Registrar: registrar,
		Source:    b.Source,
		Transport: b.Transport,
		UserAgent: b.UserAgent,
		Expires:   b.Expires,
		ExpiresAt: metav1.NewTime(b.ExpiresAt),
		CallID:    b.CallID,
		CSeq:      b.CSeq,
	}
	if !b.RegisteredAt.IsZero() {
		out.RegisteredAt = metav1.NewTime(b.RegisteredAt)
	}
	return out
}

// FromAPI converts a status binding back, for Restore.
func FromAPI(b sipv1.Binding) Binding {
	return Binding{
		URI:          b.URI,
		Source:       b.Source,
		Transport:    b.Transport,
		UserAgent:    b.UserAgent,
		CallID:       b.CallID,
		CSeq:         b.CSeq,
		Expires:      b.Expires,
		ExpiresAt:    b.ExpiresAt.Time,
		RegisteredAt: b.RegisteredAt.Time,
	}
}
