// Package location is the registrar replica's in-memory location table (usrloc):
// the bindings of every address of record (AOR) this replica holds, and the
// RFC 3261 §10.3 rules that a REGISTER applies to them. It is pure logic: no
// network, no Kubernetes and no API types, no clock (every call takes "now"
// explicitly). The registrar decodes a domain's Policy once, when the domain is
// published (package directory), and converts bindings to and from the Extension
// status in package status.
//
// # Concurrency and cost
//
// The table is split into shards (64 by default) by a seeded hash of the AOR;
// each shard has its own mutex, map and expiry heap, so REGISTERs for different
// AORs rarely contend. A refresh of an existing binding allocates nothing inside
// the table (RegisterAppend with a reused buffer allocates nothing at all);
// strings taken from a request are copied only when they differ from what is
// stored, so the table never pins a request's buffer.
//
// # Expiry
//
// Every shard keeps a min-heap of its AORs keyed by the AOR's earliest binding
// expiry, lazily: a refresh leaves the heap alone, and a key left behind is put
// right when it reaches the top. ExpireDue pops only the AORs that are due
// (O(k log n) for k due AORs), NextExpiry peeks at one heap top per shard. A binding is live while
// now < ExpiresAt. Register, Lookup and the Register answer already ignore bindings
// past their expiry, so ExpireDue may run late without anyone seeing a dead binding;
// Snapshot, Remove and Range show the stored state, which may include bindings
// past their expiry until ExpireDue (or a Register on the AOR) drops them.
//
// # Change notification
//
// The onChange function given to New, if not nil, is called with the AOR
// after any call that changed that AOR's bindings in a way a user relies on:
// a binding added or removed (by Register, by ExpireDue, by Remove, by
// RemoveURI, or by Register dropping expired bindings or the oldest binding to
// make room), or a binding's URI, Source, Transport, UserAgent or granted Expires
// interval changed. A refresh (only ExpiresAt, CSeq or the Call-ID moved) does not
// call it: a device that registers its contact again under a new Call-ID (many do,
// and so do load generators) shows nothing new in status, and writing it would
// cost an API write per REGISTER. (A new Call-ID still resets RegisteredAt, which
// orders ReplaceOldest; status keeps the earlier time until its next write, when
// the contact was first registered.) The status writer reads
// ExpiresAt from Snapshot or Range to decide when its published lease needs
// extending. Restore does not call it either: its input came from the status.
//
// onChange runs synchronously on the goroutine that made the change, after the
// shard lock is released (so it may call back into the table), once per call and
// AOR. Calls for the same AOR from different goroutines may arrive in any order:
// treat it as a "dirty" mark and read Snapshot afterwards. It must be cheap and
// must not block (e.g. add to a set and signal a channel with a non-blocking send).
//
// # Where things are
//
// policy.go holds the Policy and the interval a contact is granted; binding.go the
// Binding; register.go the REGISTER algorithm of RFC 3261 §10.3, one named step per
// function; table.go the sharded table and its other operations; heap.go each
// shard's expiry heap; uri.go the URI comparison of RFC 3261 §19.1.4; outbound.go
// the keying of RFC 5626 flows; supersede.go which of two replicas' registrations
// of one binding stands, when a device reconnected to another replica.
package location
