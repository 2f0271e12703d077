package location

import (
	"strings"
	"time"
)

// A device that loses its connection to one replica reconnects, through the
// Service, to another and registers the same binding there (RFC 5626 §6: the
// same instance and reg-id, or the same Contact). The new registration
// supersedes the old one, which the first replica still holds: these are the
// rules by which the replicas agree which of the two is the binding, with what
// each knows of the other's (its entry in the Extension status).

// ConnectionBound reports whether requests to the binding go over a connection
// that only the replica that took its REGISTER holds: a TCP, TLS or WebSocket
// binding without Path (with Path the edge proxy holds the connection). A UDP
// binding is reachable from every replica, so several may hold it: a REGISTER
// refresh balanced to another replica does not move it, and costs no status write.
func (b Binding) ConnectionBound() bool {
	return b.Path == "" && b.Transport != "" && !strings.EqualFold(b.Transport, "udp")
}

// SameBinding reports whether a and b name one binding: the same instance and
// reg-id for an outbound flow (whatever their URIs), else the same Contact URI.
func SameBinding(a, b Binding) bool {
	return names(&a, b.URI, b.Instance, b.RegID) && names(&b, a.URI, a.Instance, a.RegID)
}

// Supersedes reports whether registration a is more recent than b, two
// registrations of one binding: with one Call-ID the higher CSeq (RFC 3261
// §10.3), else the later RegisteredAt. RegisteredAt is compared in whole seconds,
// all the status keeps, so that each replica, reading the other's from status,
// comes to the same answer; within one second neither supersedes the other (see
// Outranks).
func Supersedes(a, b Binding) bool {
	if a.CallID != "" && a.CallID == b.CallID {
		return a.CSeq > b.CSeq
	}
	return a.RegisteredAt.Truncate(time.Second).After(b.RegisteredAt.Truncate(time.Second))
}

// Outranks reports whether our registration of a binding, held by replica ours,
// should stand over theirs, held by replica other: it is more recent, or neither
// is and our replica's name is the greater. The tie-break is arbitrary but the
// same on both sides, so that two live registrations of one binding at once (a
// device misbehaving) settle on one instead of taking status from each other.
func Outranks(ours Binding, ourReplica string, theirs Binding, theirReplica string) bool {
	if Supersedes(ours, theirs) {
		return true
	}
	return !Supersedes(theirs, ours) && ourReplica > theirReplica
}
