package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// claimsBefore orders two objects that claim the same thing (a customer ID, an
// extension number): the one created first keeps it, so a newcomer can never take a
// working domain or extension away. Equal timestamps (one-second resolution) fall
// back to namespace/name so that every reconcile agrees on the winner.
func claimsBefore(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() < b.GetNamespace()
	}
	return a.GetName() < b.GetName()
}

// firstClaim returns the winning claimant among objs, ignoring those being deleted.
// The one that already holds the published object (holder, when not nil) keeps it;
// otherwise the one created first wins.
func firstClaim[T client.Object](objs []T, holder client.Object) (T, bool) {
	var best T
	found := false
	for _, o := range objs {
		if o.GetDeletionTimestamp() != nil {
			continue
		}
		if holder != nil && isPublishedFrom(holder, o) {
			return o, true
		}
		if !found || claimsBefore(o, best) {
			best, found = o, true
		}
	}
	return best, found
}
