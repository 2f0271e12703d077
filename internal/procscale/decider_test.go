package procscale

import (
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
	start := time.Unix(0, 0)
	d := newDecider(cfg)
	loaded, calm := sample{cpu: 1.2, read: 2000}, sample{cpu: 0.1, read: 300}
	moves, now := run(d, start, loaded)
	if moves[0] != toAll {
		t.Fatalf("a loaded tick on one P: move %d, want toAll", moves[0])
	}
	// Calm but one busy tick in the middle: the calm spell starts again.
	need := int(cfg.LowerAfter / tick)
	moves, now = run(d, now, append(append(repeat(calm, need-1), loaded), repeat(calm, need-1)...)...)
	for i, m := range moves {
		if m != stay {
			t.Fatalf("tick %d of a broken calm spell: move %d, want stay", i, m)
		}
	}
	moves, _ = run(d, now, calm)
	if moves[0] != toOne {
		t.Fatalf("after %v of calm: move %d, want toOne", cfg.LowerAfter, moves[0])
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
