package register

import (
	"fmt"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// guessRun is one simulated hour of guessing at one extension from many addresses,
// with the production defaults and a clock that only the simulation moves.
type guessRun struct {
	addresses int
	pairsOff  bool // --throttle-source-aor-failures=0: the rule before the budget told sources apart
}

// guessOutcome is what the guessers got, and what two devices of the extension saw.
type guessOutcome struct {
	guesses int
	// cleanRefused counts refusals of new devices at addresses that never failed,
	// one every five minutes.
	cleanRefused, cleanTries int
	// taintedWait is how long a device that failed once just before the attack
	// (a mistyped password, then the right one) waited to be judged; -1: all hour.
	taintedWait time.Duration
}

func (o guessOutcome) waited() string {
	if o.taintedWait < 0 {
		return "all hour"
	}
	return o.taintedWait.String()
}

const guessSpan = time.Hour

// run plays the attack in one-second steps. Every address guesses as fast as it is
// let, at most once a second, and retries a refusal when its Retry-After ends, as
// a patient attacker would; within a step the guessers go first, the devices last.
// Each request passes the throttles in the order Handler.handle applies them.
func (g guessRun) run(t *testing.T) guessOutcome {
	e := newEnv(t)
	gd := e.guard
	gd.BySource, gd.ByAOR = throttle.New(throttle.DefaultConfig()), throttle.New(throttle.DefaultConfig())
	if !g.pairsOff {
		gd.BySourceAOR = throttle.New(throttle.DefaultPairConfig())
	}
	aor := testUser + "@" + testDomain
	start := e.now
	admitted := func(src string, now time.Time) (bool, time.Duration) {
		if blocked, after := gd.SourceBlocked(src, now); blocked {
			return false, after
		}
		// Real addresses answer a nonce bound to them: JudgeIfReturnable is judged.
		v, _, after := gd.Verdict(aor, src, now)
		return v != guard.Refuse, after
	}
	const tainted = "198.51.100.1"
	gd.Failed(aor, tainted, start.Add(-time.Second))
	var out guessOutcome
	out.taintedWait = -1
	next := make([]time.Time, g.addresses)
	taintedNext := start
	for step := time.Duration(0); step < guessSpan; step += time.Second {
		now := start.Add(step)
		for i := range next {
			if now.Before(next[i]) {
				continue
			}
			src := fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
			if ok, after := admitted(src, now); !ok {
				next[i] = now.Add(after.Truncate(time.Second) + time.Second)
				continue
			}
			out.guesses++
			gd.Failed(aor, src, now)
			next[i] = now.Add(time.Second)
		}
		if step%(5*time.Minute) == 0 {
			out.cleanTries++
			if ok, _ := admitted(fmt.Sprintf("192.0.2.%d", out.cleanTries), now); !ok {
				out.cleanRefused++
			}
		}
		if out.taintedWait < 0 && !now.Before(taintedNext) {
			ok, after := admitted(tainted, now)
			if ok {
				out.taintedWait = now.Sub(start)
			}
			taintedNext = now.Add(after.Truncate(time.Second) + time.Second)
		}
	}
	return out
}

// TestGuessRateFromManyAddresses measures, with the production defaults, how many
// guesses at one extension an hour of guessing from 1, 100 and 10,000 addresses
// gets, and what the extension's devices see meanwhile (docs/security.md quotes it).
// Against the rule before (the extension's block holding back every address) it
// shows the trade: more guesses for an attacker with many addresses, in exchange
// for new devices that are never locked out.
func TestGuessRateFromManyAddresses(t *testing.T) {
	pair, aorCfg := throttle.DefaultPairConfig(), throttle.DefaultConfig()
	periods := func(d time.Duration) int { return int((guessSpan+d-1)/d) + 1 }
	for _, n := range []int{1, 100, 10_000} {
		before := guessRun{addresses: n, pairsOff: true}.run(t)
		after := guessRun{addresses: n}.run(t)
		t.Logf("%6d addresses: %6d guesses/h (before: %4d); new devices refused %d of %d (before: %d of %d); "+
			"a device that failed once waited %s (before: %s)",
			n, after.guesses, before.guesses, after.cleanRefused, after.cleanTries, before.cleanRefused, before.cleanTries,
			after.waited(), before.waited())
		if after.cleanRefused > 0 {
			t.Errorf("%d addresses: a new device at a clean address was refused %d times", n, after.cleanRefused)
		}
		if after.taintedWait < 0 || after.taintedWait > pair.Window {
			t.Errorf("%d addresses: the device that failed once waited %s, more than the pair window %s", n, after.taintedWait, pair.Window)
		}
		// Each address: at most MaxFailures per pair window, and while the extension's
		// budget is spent one guess per pair window (its first, from a clean
		// address); plus the budget itself each time the extension's block lifts.
		perAddress := pair.MaxFailures * periods(pair.Window)
		spread := n*periods(pair.Window) + aorCfg.MaxFailures*periods(aorCfg.BlockFor)
		bound := min(n*perAddress, spread)
		if after.guesses > bound {
			t.Errorf("%d addresses: %d guesses in an hour, more than the rules allow (%d)", n, after.guesses, bound)
		}
	}
}
