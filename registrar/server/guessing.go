package server

import (
	"errors"
	"time"

	"github.com/voipbin/registrar-operator/registrar/digest"
)

// Throttle kinds, as metrics label them.
const (
	throttledSource    = "source"
	throttledSourceAOR = "source_aor"
	throttledAOR       = "aor"
)

// guessVerdict is what the throttles make of a source's answer at an AOR.
type guessVerdict int

const (
	// judge: check the answer as usual.
	judge guessVerdict = iota
	// judgeIfReturnable: a throttle would hold the source back but lets it through;
	// check the answer only with a nonce issued to the source's address, which a
	// forged source never receives.
	judgeIfReturnable
	// refuse: 403 with Retry-After.
	refuse
)

// guessVerdictFor judges whether src may try aor's password now; when refused, it
// says which throttle refuses and for how long. The AOR's failure budget, spent by
// guessing spread over many sources, holds back only sources that have themselves
// failed at the AOR: a new device at an address that never failed is judged, so
// guessers cannot lock an extension's devices out. (With the per-source-and-AOR
// throttle off nothing tells sources apart, and the budget holds back every source.)
//
// A source that holds a live binding of the AOR has registered with the password
// before: it passes either block.
//
// Whoever passes a block must answer a nonce issued to its address: over UDP the
// source address can be forged, and a forger would otherwise guess blindly from
// addresses that never failed, or from a registered device's.
func (r *Registrar) guessVerdictFor(aor, src string, now time.Time) (v guessVerdict, kind string, after time.Duration) {
	pair := r.BySourceAOR.PairStanding(src, aor, now)
	spent, aorAfter := r.ByAOR.Blocked(aor, now)
	switch {
	case pair.Blocked:
		kind, after = throttledSourceAOR, pair.RetryAfter
	case spent && (pair.Failed || !r.BySourceAOR.Enabled()):
		// Judged again when the block lifts or the source's failures are forgotten.
		kind, after = throttledAOR, aorAfter
		if pair.Failed {
			after = min(after, pair.FailedFor)
		}
	case spent:
		return judgeIfReturnable, "", 0
	default:
		return judge, "", 0
	}
	if r.holdsBinding(aor, src, now) {
		return judgeIfReturnable, "", 0
	}
	return refuse, kind, after
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

// checkNonce checks a nonce issued for realm, or for realm and the source's address
// (returnable then reports it). The second check only runs for a nonce the first
// finds invalid: not on the usual path.
func (r *Registrar) checkNonce(nonce, realm, src string, now time.Time) (err error, returnable bool) {
	err = r.Nonces.Check(nonce, realm, now)
	if !errors.Is(err, digest.ErrNonceInvalid) {
		return err, false
	}
	if boundErr := r.Nonces.Check(nonce, nonceRealm(realm, src), now); !errors.Is(boundErr, digest.ErrNonceInvalid) {
		return boundErr, true
	}
	return err, false
}

// nonceRealm is what a nonce is signed for: the realm, and the source's address for
// a nonce bound to it ("" for none). A realm, a host name, holds no zero byte.
func nonceRealm(realm, boundTo string) string {
	if boundTo == "" {
		return realm
	}
	return realm + "\x00" + boundTo
}
