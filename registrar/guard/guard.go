// Package guard decides whether a source may try an extension's password now: the
// guessing policy over the three failure throttles of package throttle (per source,
// per source and AOR, per AOR), for every path that checks a digest answer. The
// REGISTER handler (package register) and the proxy's caller authentication (package
// proxy) share one Guard, so a wrong answer on either path counts against the same
// tables: a guesser cannot move to INVITE or MESSAGE when REGISTER holds it back.
//
// It is kept out of package throttle, which counts failures per key and knows
// nothing of AORs, bindings or nonces, and out of package register, which the proxy
// does not import.
package guard

import (
	"net"
	"strings"
	"time"

	"github.com/voipbin/registrar-operator/registrar/location"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// Throttle kinds, as metrics label them.
const (
	KindSource    = "source"
	KindSourceAOR = "source_aor"
	KindAOR       = "aor"
)

// Kinds are every throttle kind.
var Kinds = []string{KindSource, KindSourceAOR, KindAOR}

// Guard holds the throttles and the location table it consults. A nil Guard, like a
// nil Limiter, throttles nothing. Its fields are set once before use.
type Guard struct {
	// BySource, BySourceAOR and ByAOR count wrong answers by source address, by
	// source address and AOR, and by AOR; nil disables one.
	BySource, BySourceAOR, ByAOR *throttle.Limiter
	// Bindings tells the sources that hold a live binding of an AOR; nil: none do.
	Bindings *location.Table
}

// Verdict is what the guard makes of a source's answer at an AOR.
type Verdict int

const (
	// Judge: check the answer as usual.
	Judge Verdict = iota
	// JudgeIfReturnable: a throttle would hold the source back but lets it through;
	// check the answer only with a nonce issued to the source's address (see
	// CheckNonce), which a forged source never receives.
	JudgeIfReturnable
	// Refuse: 403 with Retry-After (see AddRetryAfter).
	Refuse
)

// SourceBlocked reports whether src (a SourceHost) is refused whatever it asks, and
// for how long.
func (g *Guard) SourceBlocked(src string, now time.Time) (blocked bool, after time.Duration) {
	if g == nil {
		return false, 0
	}
	return g.BySource.Blocked(src, now)
}

// Verdict judges whether src may try aor's password now; when refused, it says
// which throttle refuses and for how long. The AOR's failure budget, spent by
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
func (g *Guard) Verdict(aor, src string, now time.Time) (v Verdict, kind string, after time.Duration) {
	if g == nil {
		return Judge, "", 0
	}
	pair := g.BySourceAOR.PairStanding(src, aor, now)
	spent, aorAfter := g.ByAOR.Blocked(aor, now)
	switch {
	case pair.Blocked:
		kind, after = KindSourceAOR, pair.RetryAfter
	case spent && (pair.Failed || !g.BySourceAOR.Enabled()):
		// Judged again when the block lifts or the source's failures are forgotten.
		kind, after = KindAOR, aorAfter
		if pair.Failed {
			after = min(after, pair.FailedFor)
		}
	case spent:
		return JudgeIfReturnable, "", 0
	default:
		return Judge, "", 0
	}
	if g.holdsBinding(aor, src, now) {
		return JudgeIfReturnable, "", 0
	}
	return Refuse, kind, after
}

// Failed counts a wrong answer from src at aor against every throttle. While the
// AOR's budget is spent, one wrong answer blocks the pair: a source judged because
// it had not failed yet gets that one try, and a blocked pair is what a flood of
// other failures cannot push out of the bounded table.
func (g *Guard) Failed(aor, src string, now time.Time) {
	if g == nil {
		return
	}
	g.BySource.Failure(src, now)
	if spent, _ := g.ByAOR.Blocked(aor, now); spent {
		g.BySourceAOR.PairBlock(src, aor, now)
	} else {
		g.BySourceAOR.PairFailure(src, aor, now)
	}
	g.ByAOR.Failure(aor, now)
}

// holdsBinding reports whether a live binding of aor was registered from host.
func (g *Guard) holdsBinding(aor, host string, now time.Time) bool {
	if g.Bindings == nil {
		return false
	}
	var room [4]location.Binding
	for _, b := range g.Bindings.LookupAppend(room[:0], aor, now) {
		if SourceHost(b.Source) == host {
			return true
		}
	}
	return false
}

// SourceHost is the IP part of a host:port source, the key the guard counts by; a
// source without a port is used whole.
func SourceHost(src string) string {
	if host, _, err := net.SplitHostPort(src); err == nil {
		return host
	}
	return strings.Trim(src, "[]")
}
