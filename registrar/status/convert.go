package status

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// toAPI converts a binding of the table to its Extension status form, held by
// registrar (the pod name). metav1.Time serialises with one-second precision; the
// writer replaces ExpiresAt by the lease. A binding only this replica reaches
// gets flowRoute, this replica's route for other replicas to relay through ("" to
// give none): an outbound flow it holds itself (no Path: no edge proxy holds it),
// and any connection-bound binding, outbound or not (a desk phone on TCP or TLS
// behind a NAT is reached over its connection only). A UDP binding without
// outbound, which every replica reaches, gets none: its entry stays as small.
func toAPI(b location.Binding, registrar, flowRoute string) sipv1.Binding {
	out := sipv1.Binding{
		URI:       b.URI,
		Registrar: registrar,
		Source:    b.Source,
		Transport: b.Transport,
		UserAgent: b.UserAgent,
		Expires:   b.Expires,
		Q:         b.Q.String(),
		ExpiresAt: metav1.NewTime(b.ExpiresAt),
		CallID:    b.CallID,
		CSeq:      b.CSeq,
		Instance:  b.Instance,
		RegID:     b.RegID,
		Path:      b.Path,
	}
	if b.Path == "" && (b.Outbound() || b.ConnectionBound()) {
		out.FlowRoute = flowRoute
	}
	if !b.RegisteredAt.IsZero() {
		out.RegisteredAt = metav1.NewTime(b.RegisteredAt)
	}
	return out
}

// fromAPI converts a status binding back for the table, for Restore. A q that
// does not read as a qvalue (the CRD's pattern keeps those out) is none.
func fromAPI(b sipv1.Binding) location.Binding {
	q, _ := location.ParseQ(b.Q)
	return location.Binding{
		URI:          b.URI,
		Source:       b.Source,
		Transport:    b.Transport,
		UserAgent:    b.UserAgent,
		CallID:       b.CallID,
		CSeq:         b.CSeq,
		Expires:      b.Expires,
		ExpiresAt:    b.ExpiresAt.Time,
		RegisteredAt: b.RegisteredAt.Time,
		Instance:     b.Instance,
		RegID:        b.RegID,
		Q:            q,
		Path:         b.Path,
	}
}

// appendByURI appends b, or, when out already has a binding with its URI (a
// device's outbound flows, reg-id 1 and 2, share one Contact), keeps the one
// registered last: status lists bindings by URI, and a duplicate would fail the
// whole write. The flow shown is the one other replicas relay to.
func appendByURI(out []sipv1.Binding, b sipv1.Binding) []sipv1.Binding {
	for i := range out {
		if out[i].URI == b.URI {
			if b.RegisteredAt.After(out[i].RegisteredAt.Time) {
				out[i] = b
			}
			return out
		}
	}
	return append(out, b)
}
