package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

const (
	kamailioName = "kamailio"
	ourName      = "registrar-operator"
	roleHalf     = "half"
	roleCPU      = "cpu"
	// roleLeadIn runs at the CPU step's rate just before it, unmeasured: a
	// server that adapts to its load (ours takes more Ps under load and gives
	// them back after a calm spell) reaches what it does at that rate in steady
	// state, instead of the step measuring its way down from the half-rate step.
	roleLeadIn   = "lead-in"
	keyAPIWrites = "api_writes"
)

// target is a server under test.
type target struct {
	name   string
	config string // e.g. "4 workers"; empty where the server has one
	round  int
	addr   string
	// server is what CPU and memory are measured of.
	server group
	// peakMemMB is the server's peak memory: VmHWM for one process; for a process
	// tree with shared memory (Kamailio) the sampled peak of the summed PSS.
	peakMemMB func(sampledRSS, sampledPSS float64) float64
	memNote   string
	// others are processes of the system beside the server (operator, control plane).
	others map[string]group
	// settle waits until the server has finished the work a step left (ours: the
	// status writer's backlog).
	settle func(ctx context.Context) error
	// counters are cumulative counts compared before and after each step.
	counters func(ctx context.Context) map[string]float64
	alive    func() bool
	pprof    string
}

// dir is the target's folder under a round's.
func (t *target) dir() string {
	if t.config == "" {
		return t.name
	}
	return t.name + "-" + strings.ReplaceAll(t.config, " ", "-")
}

func ourTarget(s *system) *target {
	reg := s.registrar
	return &target{
		name:   ourName,
		addr:   s.sipAddr,
		server: group{pids: func() []int { return []int{reg.pid()} }},
		peakMemMB: func(float64, float64) float64 {
			return procStatusKB(reg.pid(), "VmHWM:") / 1024
		},
		memNote: "VmHWM of the registrar process",
		others: map[string]group{
			"operator":      {pids: func() []int { return []int{s.operator.pid()} }},
			"control plane": {pids: s.controlPlanePIDs},
		},
		settle: func(ctx context.Context) error {
			// The registrar's status writes, then the operator's reconciles of the
			// Extensions they changed, then the watch events of both: a step that
			// starts before they are over measures them (the warm-up's first
			// registrations are a status write each). Quiet means nothing pending
			// and neither writing for a second. Best effort: with a long
			// --status-interval the writer never drains.
			var last string
			quietSince := time.Now()
			err := waitFor(ctx, 2*time.Minute, "the status writer and the operator to go quiet", func() error {
				reg, err := scrape(s.regMetrics)
				if err != nil {
					return err
				}
				op, err := scrape(s.opMetrics)
				if err != nil {
					return err
				}
				if n := reg.sum("registrar_status_pending"); n > 0 {
					quietSince = time.Now()
					return fmt.Errorf("%v AORs still to write", n)
				}
				now := fmt.Sprint(reg.sum("registrar_status_writes_total"), clientWrites(op))
				if now != last {
					last, quietSince = now, time.Now()
				}
				if quiet := time.Since(quietSince); quiet < time.Second {
					return fmt.Errorf("writes %s, quiet for %v", now, quiet.Round(time.Millisecond))
				}
				return nil
			})
			if err != nil && ctx.Err() == nil {
				step("    (going on: " + err.Error() + ")")
				return nil
			}
			return err
		},
		counters: func(ctx context.Context) map[string]float64 {
			out := map[string]float64{}
			if p, err := scrape(s.regMetrics); err == nil {
				out["status_writes"] = p.sum("registrar_status_writes_total")
				out["registered"] = p.sum("sip_register_requests_total", `outcome="registered"`)
				out["shed"] = p.sum("sip_udp_register_shed_total")
				out["shed_unanswered"] = p.sum("sip_udp_register_shed_unanswered_total")
				out["cached"] = p.sum("sip_udp_register_retransmissions_total")
				p.buckets(queueWaitMetric, out)
			}
			if p, err := s.apiMetrics(ctx); err == nil {
				out[keyAPIWrites] = apiWrites(p)
				for k, v := range apiWritesBy(p) {
					out["api:"+k] = v
				}
			}
			if p, err := scrape(s.opMetrics); err == nil {
				out["operator_writes"] = clientWrites(p)
				out["operator_reconciles"] = p.sum("controller_runtime_reconcile_total")
			}
			return out
		},
		alive: func() bool { return !reg.exited() },
		pprof: s.regPprof,
	}
}

func kamailioTarget(k *kamailio) *target {
	return &target{
		name:      kamailioName,
		addr:      k.addr,
		server:    group{pids: k.pids},
		peakMemMB: func(_, pss float64) float64 { return pss },
		memNote:   "peak of the summed PSS of Kamailio's processes (shared memory counted once)",
		others:    map[string]group{},
		settle:    func(context.Context) error { return nil },
		counters:  func(context.Context) map[string]float64 { return map[string]float64{} },
		alive:     func() bool { return !k.main.exited() },
	}
}

// stepResult is one row of the table and the CSV.
type stepResult struct {
	Target, Role        string
	Config              string // of the server, where more than one is measured (Kamailio's workers)
	Round               int    // of the fair comparison: the servers are measured in turns
	RcvBuf              string // the kernel's receive buffer of the server's UDP socket(s), bytes (ss: rb)
	Rate                float64
	Duration            float64
	Calls               int
	OK, Failed, Retrans int
	FailDetail          string
	Achieved            float64
	Offered             float64 // calls SIPp placed per second: the rate it managed to offer
	SippProcesses       int
	Pass                bool
	SippChP99, SippP50  float64
	SippP99             float64
	ProbeN, ProbeLost   int
	ProbeChP50          float64
	ProbeP50, ProbeP99  float64
	ProbeP999, ProbeMax float64
	// ServerWaitP99 is the p99 of the time REGISTERs waited in the server's socket
	// queue, by its own count (ours: sip_udp_register_queue_wait_seconds; NaN
	// when unknown): what of the probe's p99 is waiting to be read.
	ServerWaitP99      float64
	CPU, CPUPct        float64
	PeakMemMB, StepRSS float64
	SippCPUPct         float64
	OthersCPU          map[string]float64
	OtherLoad          float64 // CPU seconds of processes outside the benchmark
	ServerDrops        float64 // datagrams dropped at the server's full socket buffer
	AllDrops           float64 // ... at any socket of the machine (SIPp's among them)
	StatusWrites       float64
	Shed               float64 // REGISTERs the registrar answered 503 under overload
	ShedUnanswered     float64 // ... shed but dropped unanswered, past its budget of 503s
	Cached             float64 // retransmitted REGISTERs it answered from its cache
	APIWrites          float64
	OperatorWrites     float64
	Profile            string
}

// searchRates runs the steps: the given rates, or a search for the highest clean rate.
func searchRates(ctx context.Context, t *target, o sipOptions, usersFile string, probes []user) ([]stepResult, error) {
	var out []stepResult
	var runFor func(o sipOptions, rate float64, role string) (stepResult, error)
	split, err := newSippSplit(usersFile, o.sippProcesses)
	if err != nil {
		return nil, err
	}
	o.sipps = split
	run := func(rate float64, role string) (stepResult, error) {
		return runFor(o, rate, role)
	}
	runFor = func(o sipOptions, rate float64, role string) (stepResult, error) {
		if len(out) > 0 {
			if err := t.settle(ctx); err != nil {
				return stepResult{}, err
			}
			select {
			case <-ctx.Done():
				return stepResult{}, ctx.Err()
			case <-time.After(o.pause):
			}
		}
		r, err := runStep(ctx, t, o, usersFile, probes, rate, role, len(out)+1)
		if err != nil {
			return r, err
		}
		out = append(out, r)
		printStepLine(r)
		if !t.alive() {
			return r, fmt.Errorf("%s died during the step at %.0f/s", t.name, rate)
		}
		return r, nil
	}
	step(fmt.Sprintf("%s: %s steps of SIPp REGISTER+digest on %s", t.name, o.stepDuration, t.addr))
	if o.warmup {
		if err := warmUp(ctx, t, o, usersFile); err != nil {
			return out, err
		}
	}
	if len(o.rates) > 0 {
		for _, r := range o.rates {
			if _, err := run(r, "fixed"); err != nil {
				return out, err
			}
		}
	} else {
		var lastPass, firstFail float64
		for r := o.startRate; r <= o.maxRate; r *= 2 {
			res, err := run(r, "search")
			if err != nil {
				return out, err
			}
			if !res.Pass {
				firstFail = r
				break
			}
			lastPass = r
		}
		for firstFail > 0 && firstFail-lastPass > max(o.resolution, 0.1*lastPass) {
			mid := math.Round((lastPass+firstFail)/2/250) * 250
			if mid <= lastPass || mid >= firstFail {
				break
			}
			res, err := run(mid, "search")
			if err != nil {
				return out, err
			}
			if res.Pass {
				lastPass = mid
			} else {
				firstFail = mid
			}
		}
	}
	if best := bestRate(out); o.halfRate && best > 0 {
		if _, err := run(math.Round(best/2/50)*50, roleHalf); err != nil {
			return out, err
		}
	}
	if o.cpuRate > 0 {
		if o.cpuLeadIn > 0 {
			lead := o
			lead.stepDuration = o.cpuLeadIn
			if _, err := runFor(lead, o.cpuRate, roleLeadIn); err != nil {
				return out, err
			}
		}
		if _, err := run(o.cpuRate, roleCPU); err != nil {
			return out, err
		}
	}
	return out, nil
}

// bestRate is the highest achieved rate of a passing step of the search (or of the
// given rates): the max clean rate.
func bestRate(rs []stepResult) float64 {
	var best float64
	for _, r := range rs {
		if r.Pass && r.Role != roleHalf && r.Role != roleCPU && r.Role != roleLeadIn && r.Achieved > best {
			best = r.Achieved
		}
	}
	return best
}

// warmUp registers every device once before the steps, as a fleet in steady state
// has: a device's first registration costs a status write (and Kamailio a usrloc
// insert), which the scale benchmark measures; the steps measure re-registrations.
func warmUp(ctx context.Context, t *target, o sipOptions, usersFile string) error {
	n, err := countUsers(usersFile)
	if err != nil {
		return err
	}
	dir := filepath.Join(o.out, t.dir(), "warmup")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rate := 200.0
	run := sippRun{
		// A device refused with 503 (a busy machine can delay the readers past
		// --udp-shed-age even at this rate) comes back 1–4 s later, as a phone
		// does, instead of failing the whole run.
		Scenario: filepath.Join(testenv.Root(), "hack", "bench", "sipp", "register-storm.xml"),
		Users:    usersFile, Target: t.addr, AuthURI: domainName(0),
		Rate: rate, RatePeriod: time.Second, Calls: n, Limit: 100,
		Expires: o.expires,
		Timeout: time.Duration(float64(n)/rate*float64(time.Second)) + 90*time.Second,
		Dir:     dir,
	}
	st, err := o.sipps.run(ctx, run)
	if err != nil {
		return fmt.Errorf("while warming up: %w", err)
	}
	if st.Successful != n {
		return fmt.Errorf("warm-up: %d of %d devices registered (see %s)", st.Successful, n, dir)
	}
	step(fmt.Sprintf("  warm-up: %d devices registered once (not measured)", n))
	return t.settle(ctx)
}

// countUsers counts the users in a SIPp -inf file (its first line is the order).
func countUsers(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return max(strings.Count(strings.TrimSpace(string(b)), "\n"), 0), nil
}

func runStep(ctx context.Context, t *target, o sipOptions, usersFile string, probes []user, rate float64, role string, n int) (stepResult, error) {
	res := stepResult{Target: t.name, Config: t.config, Round: t.round, Role: role, Rate: rate, OthersCPU: map[string]float64{}}
	dir := filepath.Join(o.out, t.dir(), fmt.Sprintf("step%02d-%.0f", n, rate))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	calls := int(math.Round(rate * o.stepDuration.Seconds()))
	run := sippRun{
		Scenario: filepath.Join(testenv.Root(), "hack", "bench", "sipp", "register-digest.xml"),
		Users:    usersFile, Target: t.addr, AuthURI: domainName(0),
		Rate: rate, RatePeriod: time.Second, Calls: calls,
		// One second of calls in flight at most: a server that falls further behind
		// fails the step by the achieved rate.
		Limit:   max(int(rate), 100),
		Expires: o.expires,
		Timeout: o.stepDuration + 90*time.Second,
		Dir:     dir, RTT: true,
	}
	port := 0
	if _, p, err := net.SplitHostPort(t.addr); err == nil {
		port, _ = strconv.Atoi(p)
	}
	res.RcvBuf = socketRcvBuf(port)
	drops0, all0 := udpDrops(port), rcvbufErrors()
	c0 := t.counters(ctx)
	cpu0, sys0, self0 := t.server.cpu(), systemBusy(), procCPU(os.Getpid())
	others0 := map[string]float64{}
	for k, g := range t.others {
		others0[k] = g.cpu()
	}
	mem := sampleMemory(t.server, 250*time.Millisecond)
	pctx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan *probeResult, 1)
	go func() { probeDone <- runProbe(pctx, t.addr, probes, o.probeRate) }()
	profDone := make(chan string, 1)
	if t.pprof != "" {
		go func() {
			// The middle of the step.
			wait := (o.stepDuration - time.Duration(o.profileSeconds)*time.Second) / 2
			select {
			case <-time.After(max(wait, 0)):
			case <-pctx.Done():
				profDone <- ""
				return
			}
			path := filepath.Join(dir, "cpu.pprof")
			if err := download(ctx, fmt.Sprintf("%s/profile?seconds=%d", t.pprof, o.profileSeconds), path); err != nil {
				profDone <- "error: " + err.Error()
				return
			}
			profDone <- path
		}()
	} else {
		profDone <- ""
	}
	start := time.Now()
	st, err := o.sipps.run(ctx, run)
	wall := time.Since(start).Seconds()
	stopProbe()
	pr := <-probeDone
	if err := pr.writeCSV(filepath.Join(dir, "probe.csv")); err != nil {
		return res, fmt.Errorf("while saving the probe's calls: %w", err)
	}
	res.Profile = <-profDone
	rss, pss := mem.Stop()
	if err != nil {
		return res, err
	}
	if t.pprof != "" {
		_ = download(ctx, t.pprof+"/heap", filepath.Join(dir, "heap.pprof"))
	}
	res.ServerDrops, res.AllDrops = udpDrops(port)-drops0, rcvbufErrors()-all0
	res.CPU = t.server.cpu() - cpu0
	for k, g := range t.others {
		res.OthersCPU[k] = g.cpu() - others0[k]
	}
	busy := systemBusy() - sys0
	self := procCPU(os.Getpid()) - self0
	res.OtherLoad = busy - res.CPU - st.CPU - self
	for _, v := range res.OthersCPU {
		res.OtherLoad -= v
	}
	res.OtherLoad = max(res.OtherLoad, 0)
	res.Duration = st.Elapsed
	if res.Duration <= 0 {
		res.Duration = wall
	}
	res.CPUPct = 100 * res.CPU / wall
	res.SippCPUPct = 100 * st.CPU / wall
	res.PeakMemMB = t.peakMemMB(rss, pss)
	res.StepRSS = rss
	res.Calls, res.OK, res.Failed, res.Retrans = calls, st.Successful, st.Failed, st.Retrans
	if st.Failed > 0 {
		res.FailDetail = fmt.Sprintf("recv-timeout=%d max-retrans=%d unexpected=%d", st.TimeoutOnRecv, st.MaxUDPRetrans, st.Unexpected)
	}
	if st.DeadCall+st.OutOfCall > 0 {
		res.FailDetail += fmt.Sprintf(" dead-call-msgs=%d out-of-call-msgs=%d", st.DeadCall, st.OutOfCall)
	}
	res.Achieved = float64(st.Successful) / res.Duration
	res.Offered = float64(st.Created) / res.Duration
	res.SippProcesses = len(o.sipps.users)
	res.Pass = st.ExitCode == 0 && st.Failed == 0 && st.Retrans == 0 && st.Successful == calls &&
		res.Achieved >= o.minAchieved*rate && res.Duration >= o.stepDuration.Seconds()*0.95
	res.SippChP99, res.SippP50, res.SippP99 = st.ChallengeP99, st.RegisterP50, st.RegisterP99
	res.ProbeN, res.ProbeLost = len(pr.register), pr.lost+pr.failed
	res.ProbeChP50 = percentile(pr.challenge, 0.5)
	res.ProbeP50, res.ProbeP99 = percentile(pr.register, 0.5), percentile(pr.register, 0.99)
	res.ProbeP999, res.ProbeMax = percentile(pr.register, 0.999), percentile(pr.register, 1)
	if pr.lastErr != "" {
		res.FailDetail += " probe: " + pr.lastErr
	}
	c1 := t.counters(ctx)
	res.StatusWrites = c1["status_writes"] - c0["status_writes"]
	res.Shed, res.Cached = c1["shed"]-c0["shed"], c1["cached"]-c0["cached"]
	res.ShedUnanswered = c1["shed_unanswered"] - c0["shed_unanswered"]
	res.APIWrites = c1[keyAPIWrites] - c0[keyAPIWrites]
	res.OperatorWrites = c1["operator_writes"] - c0["operator_writes"]
	res.ServerWaitP99 = queueWaitQuantile(0.99, c0, c1) * 1000
	// Where the API writes went, for the record.
	var lines []string
	for k, v := range c1 {
		if d := v - c0[k]; d > 0 && k != keyAPIWrites {
			lines = append(lines, fmt.Sprintf("%-50s %10.0f %10.1f/s", k, d, d/res.Duration))
		}
	}
	slices.Sort(lines)
	_ = os.WriteFile(filepath.Join(dir, "writes.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	return res, nil
}
