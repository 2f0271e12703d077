package throttle

import (
	"hash/maphash"
	"time"
)

// Pairs are keys of two parts, a source address and an address-of-record, hashed
// together so that no string is built for them on the REGISTER path.

// PairStanding is Standing for the key (a, b).
func (l *Limiter) PairStanding(a, b string, now time.Time) Standing {
	if l == nil || l.maxFailures == 0 {
		return Standing{}
	}
	return l.standing(l.pairHash(a, b), now)
}

// PairFailure is Failure for the key (a, b).
func (l *Limiter) PairFailure(a, b string, now time.Time) (nowBlocked bool) {
	if l == nil || l.maxFailures == 0 {
		return false
	}
	return l.failure(l.pairHash(a, b), now, false)
}

// PairBlock records a failure for the key (a, b) that blocks it at once, as
// MaxFailures would. A blocked key also outlasts a flood of new keys that fail once
// (see Limiter): forgetting it would hand its source another try.
func (l *Limiter) PairBlock(a, b string, now time.Time) {
	if l == nil || l.maxFailures == 0 {
		return
	}
	l.failure(l.pairHash(a, b), now, true)
}

// pairHash hashes each part with a seed of its own and adds the two: as keyed as
// Blocked's hash, since neither part's hash can be known without its seed, and
// unlike hashing the parts as one string ("1.2.3.4"+"5@x" is "1.2.3.45"+"@x"). Two
// maphash.String calls take about 25 ns where one maphash.Hash, whose buffer must
// be zeroed, took 60 (BenchmarkPairStandingAbsent).
func (l *Limiter) pairHash(a, b string) uint64 {
	return maphash.String(l.seed, a) + maphash.String(l.seed2, b)
}
