package server

import "time"

// Throttle kinds, as metrics label them.
const (
	throttledSource    = "source"
	throttledSourceAOR = "source_aor"
	throttledAOR       = "aor"
)

// guessRefused reports whether src may not try aor's password now, which throttle
// refuses it, and for how long. The AOR's failure budget, spent by guessing spread
// over many sources, holds back only sources that have themselves failed at the AOR:
// a new device at an address that never failed is judged as usual, so guessers
// cannot lock an extension's devices out. (With the per-source-and-AOR throttle off
// nothing tells sources apart, and the budget holds back every source.)
//
// A source that holds a live binding of the AOR has registered with the password
// before: it passes either block. (A forged source gains nothing: the answer goes to
// the real one.)
func (r *Registrar) guessRefused(aor, src string, now time.Time) (refused bool, kind string, after time.Duration) {
	pair := r.BySourceAOR.PairStanding(src, aor, now)
	switch {
	case pair.Blocked:
		kind, after = throttledSourceAOR, pair.RetryAfter
	case pair.Failed || !r.BySourceAOR.Enabled():
		blocked, aorAfter := r.ByAOR.Blocked(aor, now)
		if !blocked {
			return false, "", 0
		}
		// Judged again when the block lifts or the source's failures are forgotten.
		kind, after = throttledAOR, aorAfter
		if pair.Failed {
			after = min(after, pair.FailedFor)
		}
	default:
		return false, "", 0
	}
	if r.holdsBinding(aor, src, now) {
		return false, "", 0
	}
	return true, kind, after
}

// guessFailed counts a wrong answer from src at aor against every throttle. While
// the AOR's budget is spent, one wrong answer blocks the pair: a source judged
// because it had not failed yet gets that one try, and a blocked pair is what a
// flood of other failures cannot push out of the bounded table.
func (r *Registrar) guessFailed(aor, src string, now time.Time) {
	r.BySource.Failure(src, now)
	if spent, _ := r.ByAOR.Blocked(aor, now); spent {
		r.BySourceAOR.PairBlock(src, aor, now)
	} else {
		r.BySourceAOR.PairFailure(src, aor, now)
	}
	r.ByAOR.Failure(aor, now)
}
