package proxy

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/hashfifo"
)

// endedKeysCapacity bounds how many ended requests one endedKeys remembers, in
// some 3 MiB (about 50 bytes an entry): 2,000 a second for Timer J's 32 s.
const endedKeysCapacity = 1 << 16

// endedKeys remembers requests other than INVITE that ended, by a key, for Timer
// J (64*T1): sipgo forgets a non-INVITE server transaction as our handler
// returns, or keeps it for CANCELs it does not match to it (it matches them to
// INVITEs only). The proxy keeps two:
//   - those that ended with no final response (no device answered: RFC 4320 §4.2,
//     see finish), by their server transaction's key: a retransmission from a
//     client whose T1 is longer than ours would be taken for a new request and
//     forked again (the devices would get a second MESSAGE). It is absorbed
//     instead, unanswered, as the transaction would have absorbed it;
//   - those that ended over UDP, by what a CANCEL shares with them (cancelKey): a
//     CANCEL that crossed the final response still finds the request it cancels,
//     and gets 200 (RFC 3261 §9.2), not 481.
//
// Memory is bounded whatever the traffic: an entry is a 64-bit keyed hash of the
// key (hash/maphash, random seed: nobody can aim for a collision, and one would
// only leave one new request unforwarded, as if lost, or answer one CANCEL 200),
// at most capacity of them, the oldest dropped first when full (as if never
// remembered), and a timer removes each as it expires. It is safe for concurrent
// use.
type endedKeys struct {
	seed   maphash.Seed
	retain time.Duration
	limit  int
	now    func() time.Time
	// base is when the table was made: times are kept as nanoseconds since,
	// on the monotonic clock, so that a step of the wall clock moves no expiry.
	base time.Time

	mu sync.Mutex
	// until holds each entry's expiry in nanoseconds since base; order its hashes as
	// they came, which with one retain is the order they expire in, and expiry
	// their expiries in step.
	until  map[uint64]int64
	order  hashfifo.Queue
	expiry hashfifo.Queue
	// sweeper removes the oldest entries as they expire; armed while any remain.
	sweeper *time.Timer
	armed   bool
}

// newEndedKeys remembers at most capacity requests for retain, by the clock now.
func newEndedKeys(capacity int, retain time.Duration, now func() time.Time) *endedKeys {
	return &endedKeys{seed: maphash.MakeSeed(), retain: retain, limit: capacity, now: now, base: now(), until: make(map[uint64]int64)}
}

// elapsed is the time since base, in nanoseconds.
func (s *endedKeys) elapsed() int64 { return int64(s.now().Sub(s.base)) }

// remember records that the request of key ended.
func (s *endedKeys) remember(key string) {
	h := maphash.String(s.seed, key)
	now := s.elapsed()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sweep first: an entry of the same key that expired but was not swept yet
	// would otherwise stand for this one, and the sweeper then take it away.
	s.sweep(now)
	if _, dup := s.until[h]; dup {
		return
	}
	for s.order.Len() >= s.limit {
		s.drop()
	}
	exp := now + int64(s.retain)
	s.until[h] = exp
	s.order.Push(h, s.limit)
	s.expiry.Push(uint64(exp), s.limit)
	if !s.armed {
		s.armed = true
		s.arm(s.retain)
	}
}

// has reports whether the request of key ended less than retain ago.
func (s *endedKeys) has(key string) bool {
	h := maphash.String(s.seed, key)
	now := s.elapsed()
	s.mu.Lock()
	exp, found := s.until[h]
	s.mu.Unlock()
	return found && now < exp
}

// Len returns how many requests are remembered.
func (s *endedKeys) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.until)
}

// expire is the sweeper's: it removes what expired and waits for the next.
func (s *endedKeys) expire() {
	now := s.elapsed()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if s.order.Len() == 0 {
		s.armed = false
		return
	}
	// At least a millisecond: a clock a test holds still must not spin us.
	s.arm(max(time.Duration(int64(s.expiry.Front())-now), time.Millisecond))
}

// arm, under s.mu, has the sweeper run after d.
func (s *endedKeys) arm(d time.Duration) {
	if s.sweeper == nil {
		s.sweeper = time.AfterFunc(d, s.expire)
		return
	}
	s.sweeper.Reset(d)
}

// sweep, under s.mu, drops the entries expired at now: the oldest.
func (s *endedKeys) sweep(now int64) {
	for s.order.Len() > 0 && int64(s.expiry.Front()) <= now {
		s.drop()
	}
}

// drop, under s.mu, forgets the oldest entry.
func (s *endedKeys) drop() {
	delete(s.until, s.order.Pop())
	s.expiry.Pop()
}
