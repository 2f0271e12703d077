package udpfront

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// acceptedSet remembers the credentialed REGISTERs answered 200 OK for as long as a
// server transaction absorbs retransmissions (Timer J, 64·T1 = 32 s over UDP, RFC 3261
// §17.2.2), by a hash of the datagram and its source: 8 bytes each, where the
// response cache keeps whole responses and, past a few thousand registrations a
// second, only for a second or two.
//
// A retransmission the cache no longer holds is answered 200 OK again
// (Config.Reconfirm) rather than refused as a replayed nonce count. Refused, the
// phone whose first 200 was lost starts its registration over with two more messages,
// under the very load that lost it; SIPp, which ignores the 407 (-nd), retransmitted
// until it gave up, and the calls it held open starved the rest: past the load
// generator's limit, our completed rate fell to 5,500/s where Kamailio's, which keeps
// no nonce counts, held 11,600 (hack/bench/results/2026-12-05d).
//
// Two generations of at most acceptedPerGeneration hashes, each collecting for
// acceptedWindow: a hash is remembered 16 to 32 s, less above 16,000 registrations a
// second, and memory stays bounded (some 10 MB at the most).
type acceptedSet struct {
	mu         sync.Mutex
	young, old map[uint64]struct{}
	started    time.Time
	now        func() time.Time
	seed       maphash.Seed
	limit      int
}

// acceptedWindow is how long a generation collects: with two, a hash lasts at least
// this long and at most twice it, Timer J's 32 s.
const acceptedWindow = 16 * time.Second

// acceptedPerGeneration bounds a generation: 16 s at 16,000 registrations a second.
const acceptedPerGeneration = 1 << 18

func newAcceptedSet(limit int, now func() time.Time) *acceptedSet {
	return &acceptedSet{young: map[uint64]struct{}{}, old: map[uint64]struct{}{}, started: now(), now: now, seed: maphash.MakeSeed(), limit: limit}
}

// sum identifies a datagram from a source: a retransmission is the same bytes from the
// same address (§17.1.2.2), and anything else, a new CSeq, branch or nonce count, is a
// new request.
func (s *acceptedSet) sum(data []byte, from netip.AddrPort) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	_, _ = h.Write(data)
	a := from.Addr().As16()
	_, _ = h.Write(a[:])
	p := from.Port()
	_ = h.WriteByte(byte(p >> 8))
	_ = h.WriteByte(byte(p))
	return h.Sum64()
}

// add remembers a datagram answered 200 OK.
func (s *acceptedSet) add(sum uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.young) >= s.limit || s.now().Sub(s.started) >= acceptedWindow {
		s.young, s.old = s.old, s.young
		clear(s.young) // keeps its room: a busy set allocates nothing
		s.started = s.now()
	}
	s.young[sum] = struct{}{}
}

// has reports whether a datagram was answered 200 OK within the last generations.
func (s *acceptedSet) has(sum uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.young[sum]; ok {
		return true
	}
	_, ok := s.old[sum]
	return ok
}
