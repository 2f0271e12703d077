package procscale

import "time"

// sample is the load over one interval.
type sample struct {
	cpu        float64 // process CPU in cores
	read, late uint64  // requests read, and those that had waited too long
	elapsed    time.Duration
}

// cpuSmoothing is the time constant of the CPU average that judges calm.
const cpuSmoothing = time.Second

type move int

const (
	stay move = iota
	toAll
	toOne
)

// decider is the controller's logic, free of the runtime and the clock: on one P it
// moves to all at the first interval that shows one P falling behind; on all it
// moves back after lowerAfter of calm intervals in a row.
type decider struct {
	cfg Config
	// recent holds the last samples' reads and late reads, a window of
	// cfg.LateWindow: a few late in one burst are no queue, a steady share is.
	recent []sample
	next   int
	all    bool          // on all Ps
	calm   time.Duration // calm in a row, on all Ps
	// cpu is the process CPU averaged over about a second (an exponential
	// mean): on all Ps, one busy interval (a client's burst) does not end a
	// calm spell, a second of load does.
	cpu        float64
	lowerAfter time.Duration // calm needed to go back to one P
	// since is when the decider last moved (zero before its first move: one P
	// at the start was not chosen after a calm spell).
	since time.Time
}

func newDecider(cfg Config) *decider {
	n := max(1, int(cfg.LateWindow/cfg.Interval))
	return &decider{cfg: cfg, lowerAfter: cfg.LowerAfter, recent: make([]sample, n)}
}

func (d *decider) observe(s sample, now time.Time) move {
	d.recent[d.next] = s
	d.next = (d.next + 1) % len(d.recent)
	weight := min(1, float64(s.elapsed)/float64(cpuSmoothing))
	d.cpu += weight * (s.cpu - d.cpu)
	if !d.all {
		if !d.behind(s) {
			return stay
		}
		// One P lasted less than the calm it took to choose it: the load
		// comes and goes faster than that, so wait longer next time. One that
		// lasted longer halves the wait again, step by step, so that a load
		// that returns just after each wait does not reset it.
		if !d.since.IsZero() && now.Sub(d.since) < d.lowerAfter {
			d.lowerAfter = min(2*d.lowerAfter, d.cfg.MaxLowerAfter)
		} else {
			d.lowerAfter = max(d.lowerAfter/2, d.cfg.LowerAfter)
		}
		d.all, d.calm, d.since, d.cpu = true, 0, now, max(s.cpu, d.cfg.RaiseCPU)
		clear(d.recent) // what was late on one P says nothing of all
		return toAll
	}
	if d.cpu > d.cfg.LowerCPU || d.lateMany() {
		d.calm = 0
		return stay
	}
	// A long interval (a paused machine, a starved ticker) counts as two at
	// most: calm is what was seen, not what was missed.
	d.calm += min(s.elapsed, 2*d.cfg.Interval)
	if d.calm < d.lowerAfter {
		return stay
	}
	// The window keeps the calm that led here: a burst just after the move
	// is judged among it.
	d.all, d.calm, d.since = false, 0, now
	return toOne
}

// raiseSpan is how many of the last intervals the CPU that tells one P falling
// behind is averaged over. Judged on one interval, a burst (a client's, a
// collection) moved a registrar at 3,000 REGISTERs/s to two Ps now and then,
// where each REGISTER costs half as much CPU again (about 80 against 55 µs,
// hack/bench/results/2026-12-06b), for the calm spell or longer. A load that
// lasts moves it within raiseSpan intervals; waiting requests (lateMany) still
// move it at once.
const raiseSpan = 3

// behind tells one P falling behind: most of a core used over the last
// intervals, or requests waiting in the recent window.
func (d *decider) behind(sample) bool {
	return d.recentCPU() >= d.cfg.RaiseCPU || d.lateMany()
}

// recentCPU is the process CPU, in cores, over the last raiseSpan intervals
// observed.
func (d *decider) recentCPU() float64 {
	var busy, secs float64
	for k := 1; k <= min(raiseSpan, len(d.recent)); k++ {
		s := d.recent[(d.next-k+len(d.recent))%len(d.recent)]
		if s.elapsed <= 0 {
			continue // none yet, or cleared by a move to all Ps
		}
		busy += s.cpu * s.elapsed.Seconds()
		secs += s.elapsed.Seconds()
	}
	if secs == 0 {
		return 0
	}
	return busy / secs
}

// lateMany tells a steady share of late requests in the recent window.
func (d *decider) lateMany() bool {
	var read, late uint64
	for _, s := range d.recent {
		read, late = read+s.read, late+s.late
	}
	return late >= d.cfg.MinLate && float64(late) >= d.cfg.LateShare*float64(read)
}
