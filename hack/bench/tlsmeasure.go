package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// measure runs load for the step's duration and accounts for the CPU of the
// registrar, of this program and of everything else, and the API writes.
// With pprof, a CPU profile of the registrar over the middle half of the step is
// saved to profile.
func (t *tlsRun) measure(ctx context.Context, profile string, load func(ctx context.Context, tl *tally)) (loadResult, error) {
	reg := t.sys.registrar.pid()
	others := append([]int{t.sys.operator.pid()}, t.sys.controlPlanePIDs()...)
	otherCPU := func() float64 {
		var s float64
		for _, p := range others {
			s += procCPU(p)
		}
		return s
	}
	api0, err := t.sys.apiMetrics(ctx)
	if err != nil {
		return loadResult{}, err
	}
	status0, err := scrape(t.sys.regMetrics)
	if err != nil {
		return loadResult{}, err
	}
	reg0, bench0, sys0, ours0 := procCPU(reg), procCPU(t.benchPID), systemBusy(), otherCPU()
	begin := time.Now()
	stepCtx, cancel := context.WithTimeout(ctx, t.o.duration)
	tl := &tally{}
	var profiled sync.WaitGroup
	if t.sys.regPprof != "" && t.o.duration >= 4*time.Second {
		profiled.Go(func() {
			quarter := t.o.duration / 4
			select {
			case <-stepCtx.Done():
				return
			case <-time.After(quarter):
			}
			url := fmt.Sprintf("%s/profile?seconds=%d", t.sys.regPprof, int(2*quarter/time.Second))
			if err := download(ctx, url, profile); err != nil {
				step("    (no CPU profile: " + err.Error() + ")")
			}
		})
	}
	load(stepCtx, tl)
	cancel()
	seconds := time.Since(begin).Seconds()
	regCPU, benchCPU := procCPU(reg)-reg0, procCPU(t.benchPID)-bench0
	res := summarizeTally(tl, seconds, regCPU)
	res.BenchCPU = benchCPU
	// Other: the machine's busy time less the registrar, this program and the
	// system's own processes (operator, control plane).
	res.OtherCPU = max(0, systemBusy()-sys0-regCPU-benchCPU-(otherCPU()-ours0))
	profiled.Wait()
	api1, err := t.sys.apiMetrics(ctx)
	if err != nil {
		return res, err
	}
	res.APIWrites = apiWrites(api1) - apiWrites(api0)
	status1, err := scrape(t.sys.regMetrics)
	if err != nil {
		return res, err
	}
	res.StatusWrites = status1.sum("registrar_status_writes_total") - status0.sum("registrar_status_writes_total")
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// settle waits until the status writes that moving the devices caused are over:
// the bench's own check (nothing pending, no write for a second), and then no
// write for quietFor more. The writer takes its whole queue at once (pending drops
// to 0) and writes it 8 at a time; on a loaded machine one write can take over a
// second, which the first check alone takes for quiet.
func (t *tlsRun) settle(ctx context.Context) error {
	const quietFor = 3 * time.Second
	for {
		if err := ourTarget(t.sys).settle(ctx); err != nil {
			return err
		}
		before, err := scrape(t.sys.regMetrics)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quietFor):
		}
		after, err := scrape(t.sys.regMetrics)
		if err != nil {
			return err
		}
		if after.sum("registrar_status_writes_total") == before.sum("registrar_status_writes_total") {
			return nil
		}
	}
}
