package status

import (
	"time"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// A device that reconnects to another replica registers its binding there too
// (see location/supersede.go); status, keyed by Contact URI, shows one of the two.
// Reconcile, run on each Extension the watch delivers (never per REGISTER), makes
// the replicas converge whatever order their writes land in:
//
//   - the replica whose registration lost drops it from its table, so that it
//     routes by the other's entry and its writer never forces its own back;
//   - the replica whose registration stands writes again when status shows the
//     other's, or lost the entry it had published.
//
// Only connection-bound bindings (TCP, TLS, WebSocket) take part: a UDP binding
// is reachable from every replica, and a refresh balanced to another replica
// would otherwise cost two writes.

// Alive reports whether a connection-bound binding this replica holds still has
// its connection (the proxy's transport layer knows).
type Alive func(b location.Binding) bool

// Reconcile compares this replica's bindings of aor with the status entries the
// watch shows for it, drops ours that another replica's supersede (or that lost
// their connection while another replica holds them), and marks aor for writing
// when status lacks or misattributes one we still hold.
func (w *Writer) Reconcile(aor string, shown []sipv1.Binding, alive Alive) {
	now := time.Now()
	if len(w.cfg.Table.Lookup(aor, now)) == 0 {
		return // the common case: nothing of ours to compare
	}
	if w.cfg.Table.RemoveIf(aor, func(b *location.Binding) bool { return w.superseded(*b, shown, alive, now) }) {
		return // the table reported the change: the writer rewrites aor anyway
	}
	if w.owes(aor, w.cfg.Table.Lookup(aor, now), shown, alive, now) {
		w.cfg.Changes.Mark(aor)
	}
}

// superseded reports whether another replica's live entry holds b and ours is
// not to stand: theirs is more recent, or ours lost its connection (a flow that
// failed is never used while another of the instance exists, RFC 5626 §5.3).
func (w *Writer) superseded(b location.Binding, shown []sipv1.Binding, alive Alive, now time.Time) bool {
	if !b.ConnectionBound() {
		return false
	}
	for i := range shown {
		s := &shown[i]
		if s.Registrar == w.cfg.Replica || s.Registrar == "" || !s.ExpiresAt.After(now) {
			continue
		}
		theirs := fromAPI(*s)
		if location.SameBinding(b, theirs) && (location.Supersedes(theirs, b) || !alive(b)) {
			return true
		}
	}
	return false
}

// owes reports whether status misses a live connection-bound binding of ours:
// another replica's entry shows it with a registration ours outranks, or the entry
// we published is gone (another replica removed its own, which was ours too).
func (w *Writer) owes(aor string, ours []location.Binding, shown []sipv1.Binding, alive Alive, now time.Time) bool {
	w.mu.Lock()
	leases := w.leases[aor]
	w.mu.Unlock()
	for _, b := range ours {
		if !b.ConnectionBound() || !b.Live(now) || !alive(b) {
			continue
		}
		s := entryOf(shown, b.URI)
		switch {
		case s == nil:
			if _, published := leaseOf(leases, b.URI); published {
				return true
			}
		case s.Registrar != w.cfg.Replica:
			theirs := fromAPI(*s)
			if location.SameBinding(b, theirs) && location.Outranks(b, w.cfg.Replica, theirs, s.Registrar) {
				return true
			}
		}
	}
	return false
}

// entryOf returns the status entry of uri (status keys its list by it), nil for none.
func entryOf(shown []sipv1.Binding, uri string) *sipv1.Binding {
	for i := range shown {
		if shown[i].URI == uri {
			return &shown[i]
		}
	}
	return nil
}

// takenOver reports whether status shows another replica's live entry of b: at
// start-up our connections are all gone, so such an entry always stands.
func takenOver(b location.Binding, replica string, shown []sipv1.Binding, now time.Time) bool {
	if !b.ConnectionBound() {
		return false
	}
	for i := range shown {
		s := &shown[i]
		if s.Registrar != replica && s.Registrar != "" && s.ExpiresAt.After(now) && location.SameBinding(b, fromAPI(*s)) {
			return true
		}
	}
	return false
}
