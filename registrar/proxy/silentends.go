package proxy

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/hashfifo"
)

// silentEndsCapacity bounds how many silent ends are remembered, in some 3 MiB
// (about 50 bytes an entry): 2,000 a second for Timer J's 32 s.
const silentEndsCapacity = 1 << 16

// silentEnds remembers the requests other than INVITE whose server transaction
// ended with no final response (no device answered: RFC 4320 §4.2, see finish),
// by their server transaction's key, for Timer J (64*T1). sipgo forgets such a
// transaction as our handler returns, so a retransmission from a client whose
// T1 is longer than ours would be taken for a new request and forked again: the
// devices would get a second MESSAGE. Such a retransmission is absorbed instead,
// unanswered, as the transaction would have absorbed it.
//
// Memory is bounded whatever the traffic: an entry is a 64-bit keyed hash of the
// key (hash/maphash, random seed: nobody can aim for a collision, and one would
// only leave one new request unforwarded, as if lost), at most capacity of them, the
// oldest dropped first when full (its retransmission is then forked again, as
// before), and a timer removes each as it expires. It is safe for concurrent use.
type silentEnds struct {
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

// newSilentEnds remembers at most capacity requests for retain, by the clock now.
func newSilentEnds(capacity int, retain time.Duration, now func() time.Time) *silentEnds {
	return &silentEnds{seed: maphash.MakeSeed(), retain: retain, limit: capacity, now: now, base: now(), until: make(map[uint64]int64)}
}

// elapsed is the time since base, in nanoseconds.
func (s *silentEnds) elapsed() int64 { return int64(s.now().Sub(s.base)) }

// remember records that the request of server transaction key ended with no
// final response.
func (s *silentEnds) remember(key string) {
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

// absorbs reports whether the request of server transaction key ended with no
// final response less than retain ago: this is a retransmission of it.
func (s *silentEnds) absorbs(key string) bool {
	h := maphash.String(s.seed, key)
	now := s.elapsed()
	s.mu.Lock()
	exp, found := s.until[h]
	s.mu.Unlock()
	return found && now < exp
}

// Len returns how many requests are remembered.
func (s *silentEnds) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.until)
}

// expire is the sweeper's: it removes what expired and waits for the next.
func (s *silentEnds) expire() {
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
func (s *silentEnds) arm(d time.Duration) {
	if s.sweeper == nil {
		s.sweeper = time.AfterFunc(d, s.expire)
		return
	}
	s.sweeper.Reset(d)
}

// sweep, under s.mu, drops the entries expired at now: the oldest.
func (s *silentEnds) sweep(now int64) {
	for s.order.Len() > 0 && int64(s.expiry.Front()) <= now {
		s.drop()
	}
}

// drop, under s.mu, forgets the oldest entry.
func (s *silentEnds) drop() {
	delete(s.until, s.order.Pop())
	s.expiry.Pop()
}
