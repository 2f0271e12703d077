// Package procscale runs the Go scheduler on one P while one core keeps up with the
// load, and on all the runtime would give it when it does not.
//
// With two or more Ps, a registrar that answers a few thousand REGISTERs a second
// pays for parallelism it does not use: each datagram finds the other P idle, the
// runtime wakes a thread to look for work there, and the thread parks again. At
// 3,000 registrations/s on two cores that cost a registration about 62 µs of CPU
// against 41 µs on one P (hack/bench/results/2026-12-05c). One P caps a replica at one
// core of Go code, though, and it looks at the network only when it has nothing else
// to run, so under load or on a busy node requests wait. So the registrar starts on
// one P and takes the runtime's default (its CPU limit, cgroup aware) as soon as one
// P falls behind: the process used a good part of a core over a few ticks, or requests
// waited in the socket's queue. It goes back to one P only after a calm spell, which
// doubles each time one P proves too few soon after (hysteresis).
package procscale

import (
	"context"
	"os"
	"runtime"
	"time"

	"github.com/go-logr/logr"
)

// Config tunes the controller; the zero value of a field takes its default.
type Config struct {
	// Max is how many Ps run under load: 0 follows the runtime's default
	// (runtime.SetDefaultGOMAXPROCS: the CPU limit, and a resized pod's new one).
	Max int
	// Interval is how often the load is looked at (default 100 ms).
	Interval time.Duration
	// RaiseCPU is the process CPU, in cores over the last three intervals, at
	// which one P is taken as falling behind (default 0.4: on one P, network
	// readiness is only looked at when the P has nothing else to run, so the
	// response-time tail
	// grows long before the core is full; at 14,000–16,000 REGISTERs/s, about
	// half a core, p99 passed 2 ms).
	RaiseCPU float64
	// LateShare and MinLate: one P is falling behind too when at least MinLate
	// requests and LateShare of those read in the last LateWindow waited in the
	// queue longer than the front end's late bound (defaults 1%, 10 and 10 s: the
	// p99 over ten seconds). A burst of requests (every client starting at
	// once) delays a few hundred now and then; a queue delays a steady share.
	LateShare  float64
	MinLate    uint64
	LateWindow time.Duration
	// LowerCPU is the process CPU, in cores and averaged over about a second,
	// below which an interval on all Ps is calm (default 0.3: one P does the same
	// work in about two thirds of the CPU, well under RaiseCPU).
	LowerCPU float64
	// LowerAfter is how long it must stay calm before going back to one P (default
	// 5 s); it doubles, up to MaxLowerAfter (default 5 min), each time one P lasts
	// less than that before falling behind again.
	LowerAfter, MaxLowerAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = 100 * time.Millisecond
	}
	if c.RaiseCPU <= 0 {
		c.RaiseCPU = 0.4
	}
	if c.LateShare <= 0 {
		c.LateShare = 0.01
	}
	if c.MinLate == 0 {
		c.MinLate = 10
	}
	if c.LateWindow < c.Interval {
		c.LateWindow = max(10*time.Second, c.Interval)
	}
	if c.LowerCPU <= 0 {
		c.LowerCPU = 0.3
	}
	if c.LowerAfter <= 0 {
		c.LowerAfter = 5 * time.Second
	}
	if c.MaxLowerAfter < c.LowerAfter {
		c.MaxLowerAfter = max(5*time.Minute, c.LowerAfter)
	}
	return c
}

// Signals are where the load is read; each is cumulative since the process started.
type Signals struct {
	// CPU is the CPU time the process has used (user and system); nil: getrusage.
	CPU func() time.Duration
	// Waits is how many requests were read and how many of them had waited too
	// long in the queue (udpfront.Front.Waits); nil: none are known.
	Waits func() (read, late uint64)
	// Changed, if set, is told each GOMAXPROCS the controller sets
	// (udpfront.Front.SetActiveReaders: no more readers than Ps).
	Changed func(procs int)
}

// Run controls GOMAXPROCS until ctx ends, then leaves it at Max. When Max, or the
// container's CPU limit, allows one core at most, it sets one P and returns.
func Run(ctx context.Context, cfg Config, sig Signals, log logr.Logger) {
	cfg = cfg.withDefaults()
	if sig.Changed == nil {
		sig.Changed = func(int) {}
	}
	most := cfg.Max
	if most <= 0 {
		most = runtime.GOMAXPROCS(0)
		if cores, ok := cpuLimit(os.DirFS("/")); ok && cores <= 1 {
			most = 1
		}
	}
	if most <= 1 {
		runtime.GOMAXPROCS(1)
		sig.Changed(1)
		log.Info("one core at most: GOMAXPROCS stays at one P", "GOMAXPROCS", 1)
		return
	}
	if sig.CPU == nil {
		sig.CPU = processCPU
	}
	if sig.Waits == nil {
		sig.Waits = func() (uint64, uint64) { return 0, 0 }
	}
	raise := func() int {
		if cfg.Max > 0 {
			runtime.GOMAXPROCS(cfg.Max)
		} else {
			runtime.SetDefaultGOMAXPROCS()
		}
		procs := runtime.GOMAXPROCS(0)
		sig.Changed(procs)
		return procs
	}
	lower := func() {
		runtime.GOMAXPROCS(1)
		sig.Changed(1)
	}
	defer raise()

	d := newDecider(cfg)
	lower()
	current := 1
	log.Info("GOMAXPROCS adapts to the load", "idle", 1, "loaded", most)

	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	lastAt, lastCPU := time.Now(), sig.CPU()
	lastRead, lastLate := sig.Waits()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d.all {
			// The runtime follows a resized pod's CPU limit on its own.
			if procs := runtime.GOMAXPROCS(0); procs != current {
				current = procs
				sig.Changed(procs)
			}
		}
		now, cpu := time.Now(), sig.CPU()
		read, late := sig.Waits()
		elapsed := now.Sub(lastAt)
		if elapsed <= 0 {
			continue
		}
		s := sample{
			cpu:  float64(cpu-lastCPU) / float64(elapsed),
			read: read - lastRead, late: late - lastLate,
			elapsed: elapsed,
		}
		lastAt, lastCPU, lastRead, lastLate = now, cpu, read, late
		switch d.observe(s, now) {
		case toAll:
			procs := raise()
			current = procs
			log.Info("one P fell behind: GOMAXPROCS raised", "GOMAXPROCS", procs,
				"cpuCores", s.cpu, "late", s.late, "read", s.read, "nextCalmNeeded", d.lowerAfter.String())
		case toOne:
			lower()
			current = 1
			log.Info("calm: back to one P", "GOMAXPROCS", 1)
		}
	}
}
