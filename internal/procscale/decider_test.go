package procscale

import (
	"slices"
	"testing"
	"time"
)

const tick = 100 * time.Millisecond

// run feeds the decider one sample per tick from start, and returns the moves and
// the time after the last sample.
func run(d *decider, start time.Time, samples ...sample) ([]move, time.Time) {
	now := start
	var moves []move
	for _, s := range samples {
		s.elapsed = tick
		now = now.Add(tick)
		moves = append(moves, d.observe(s, now))
	}
	return moves, now
}

func repeat(s sample, n int) []sample {
	out := make([]sample, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestOneFallingBehindMovesToAllAtOnce(t *testing.T) {
	start := time.Unix(0, 0)
	for _, tc := range []struct {
		name string
		s    sample
		want move
	}{
		{"idle", sample{cpu: 0.05, read: 300}, stay},
		{"a busy core", sample{cpu: 0.4, read: 1500}, toAll},
		{"requests waiting", sample{cpu: 0.2, read: 300, late: 10}, toAll},
		{"a few late among many: a blip, not a queue", sample{cpu: 0.2, read: 3000, late: 20}, stay},
		{"a handful late are not a queue", sample{cpu: 0.1, read: 20, late: 5}, stay},
	} {
		d := newDecider(Config{}.withDefaults())
		if moves, _ := run(d, start, tc.s); moves[0] != tc.want {
			t.Errorf("%s: %+v gave move %d, want %d", tc.name, tc.s, moves[0], tc.want)
		}
	}
}

func TestAllGoesBackToOneAfterACalmSpell(t *testing.T) {
	cfg := Config{}.withDefaults()
	loaded, calm := sample{cpu: 1.2, read: 2000}, sample{cpu: 0.05, read: 300}
	// ticksToOne feeds a decider one loaded tick, then the given ticks, then calm
	// ones until it moves back to one P, and counts the ticks after the first.
	ticksToOne := func(middle ...sample) int {
		d := newDecider(cfg)
		moves, now := run(d, time.Unix(0, 0), loaded)
		if moves[0] != toAll {
			t.Fatalf("a loaded tick on one P: move %d, want toAll", moves[0])
		}
		n := 0
		for _, s := range append(repeat(calm, 20), middle...) {
			if moves, now = run(d, now, s); moves[0] != stay {
				t.Fatalf("tick %d: move %d before the calm spell could have passed", n, moves[0])
			}
			n++
		}
		for ; moves[0] != toOne; n++ {
			if n > 1000 {
				t.Fatal("never moved back to one P")
			}
			moves, now = run(d, now, calm)
		}
		return n
	}
	plain := ticksToOne()
	if spell := time.Duration(plain) * tick; spell < cfg.LowerAfter || spell > cfg.LowerAfter+3*time.Second {
		t.Fatalf("back to one P after %v of calm, want the %v spell and the second or two the load takes to fade", spell, cfg.LowerAfter)
	}
	if n := ticksToOne(loaded); n > plain+1 {
		t.Fatalf("one busy tick (a client's burst) in the calm delayed the move from %d to %d ticks: it broke the spell", plain, n)
	}
	// The spell starts again after the second of load (20 calm ticks, then 10
	// loaded ones).
	if n, least := ticksToOne(repeat(loaded, 10)...), 20+10+int(cfg.LowerAfter/tick); n < least {
		t.Fatalf("after a second of load in the calm it moved back after %d ticks, want at least %d: the spell did not start again", n, least)
	}
}

// The CPU that moves to all Ps is judged over the last three intervals: one
// busy interval amid quiet ones (a client's burst, a collection) moves nothing,
// a load that lasts moves within three.
func TestOneBusyIntervalIsNoLoad(t *testing.T) {
	d := newDecider(Config{}.withDefaults())
	quiet, busy := sample{cpu: 0.17, read: 600}, sample{cpu: 0.45, read: 1500}
	moves, _ := run(d, time.Unix(0, 0), append(append(repeat(quiet, 20), busy), repeat(quiet, 5)...)...)
	for i, m := range moves {
		if m != stay {
			t.Fatalf("tick %d: move %d, want stay: one busy interval among quiet ones is a burst", i, m)
		}
	}
	d = newDecider(Config{}.withDefaults())
	moves, _ = run(d, time.Unix(0, 0), append(repeat(quiet, 20), repeat(sample{cpu: 0.55, read: 1800}, 3)...)...)
	if !slices.Contains(moves[20:], toAll) {
		t.Fatalf("three intervals at 0.55 of a core: moves %v, want toAll by the third", moves[20:])
	}
}

// A load that comes back soon after each move to one P makes the calm needed longer
// each time, up to its bound; each long spell on one P halves it again.
func TestFlappingLoadWaitsLongerForCalm(t *testing.T) {
	cfg := Config{LowerAfter: time.Second, MaxLowerAfter: 4 * time.Second}.withDefaults()
	start := time.Unix(0, 0)
	d := newDecider(cfg)
	loaded, calm := sample{cpu: 1.2}, sample{cpu: 0.05}
	now := start
	var want []time.Duration
	var got []time.Duration
	for cycle := range 4 {
		var moves []move
		moves, now = run(d, now, loaded)
		if moves[0] != toAll {
			t.Fatalf("cycle %d: loaded on one P gave move %d", cycle, moves[0])
		}
		got = append(got, d.lowerAfter)
		// Calm until it moves back to one P.
		for {
			moves, now = run(d, now, calm)
			if moves[0] == toOne {
				break
			}
		}
	}
	want = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calm needed after each quick return to all Ps: %v, want %v", got, want)
		}
	}
	// Long spells on one P: each following load halves it, down to LowerAfter.
	for _, want := range []time.Duration{2 * time.Second, time.Second, time.Second} {
		_, now = run(d, now, repeat(calm, 100)...)
		_, now = run(d, now, loaded)
		if d.lowerAfter != want {
			t.Fatalf("after a long spell on one P the calm needed is %v, want %v", d.lowerAfter, want)
		}
		for moves := []move{stay}; moves[0] != toOne; {
			moves, now = run(d, now, calm)
		}
	}
}

// Late requests are judged over the window: one burst delayed (a collection, a
// preempted thread) is not a queue; a steady share is.
func TestLateRequestsAreJudgedOverTheWindow(t *testing.T) {
	cfg := Config{LateWindow: time.Second}.withDefaults()
	start := time.Unix(0, 0)
	d := newDecider(cfg)
	window := int(cfg.LateWindow / tick)
	quiet := sample{cpu: 0.1, read: 300}
	moves, now := run(d, start, append(repeat(quiet, window-1), sample{cpu: 0.1, read: 300, late: 25})...)
	for i, m := range moves {
		if m != stay {
			t.Fatalf("tick %d: 25 late among %d in the window gave move %d, want stay", i, 300*window, m)
		}
	}
	moves, _ = run(d, now, sample{cpu: 0.1, read: 300, late: 10})
	if moves[0] != toAll {
		t.Fatalf("35 late among %d in the window (over 1%%): move %d, want toAll", 300*window, moves[0])
	}
}

// One long interval (a paused machine, a starved ticker) is not a calm spell.
func TestOneLongIntervalIsNoCalmSpell(t *testing.T) {
	cfg := Config{}.withDefaults()
	d := newDecider(cfg)
	now := time.Unix(0, 0)
	if m := d.observe(sample{cpu: 1.2, elapsed: tick}, now.Add(tick)); m != toAll {
		t.Fatalf("loaded on one P: move %d, want toAll", m)
	}
	if m := d.observe(sample{cpu: 0.01, elapsed: 2 * cfg.LowerAfter}, now.Add(tick+2*cfg.LowerAfter)); m != stay {
		t.Fatalf("one interval of %v: move %d, want stay", 2*cfg.LowerAfter, m)
	}
}
