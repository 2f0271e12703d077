package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// runStorm is the registration storm (--storm): every device of usersFile, none
// registered before, registers once within window, as phones do when they all come
// back after an outage. A device refused with 503 waits 1 to 4 s and starts over
// (sipp/register-storm.xml), so the storm ends when every device is registered. It
// reports how long that took, how many were shed, and how the status writer coped:
// each first registration is a status write, which must be coalesced, not queued
// without bound (its peak backlog and the time until it is written).
func runStorm(ctx context.Context, s *system, o sipOptions, usersFile string, credentials int) error {
	n, err := countUsers(usersFile)
	if err != nil {
		return err
	}
	s.regLog = filepath.Join(o.out, "registrar-storm.log")
	if err := s.startRegistrar(ctx); err != nil {
		return err
	}
	defer s.registrar.stop()
	if err := s.waitCredentials(ctx, credentials, 5*time.Minute); err != nil {
		return err
	}
	t := ourTarget(s)
	dir := filepath.Join(o.out, t.name, "storm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	run := sippRun{
		Scenario: filepath.Join(testenv.Root(), "hack", "bench", "sipp", "register-storm.xml"),
		Users:    usersFile, Target: t.addr, AuthURI: domainName(0),
		Rate: float64(n) / o.storm.Seconds(), RatePeriod: time.Second, Calls: n, Limit: n,
		Expires: o.expires, LocalPort: port,
		Timeout: o.storm + 5*time.Minute,
		Dir:     dir,
	}
	before, err := scrape(s.regMetrics)
	if err != nil {
		return fmt.Errorf("while reading the registrar's metrics: %w", err)
	}
	step(fmt.Sprintf("storm: %d devices register within %s (%.0f/s), each retrying 1–4 s after a 503", n, o.storm, run.Rate))
	// The status writer's backlog, sampled through the storm.
	var peakPending float64
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		for {
			if p, err := scrape(s.regMetrics); err == nil {
				peakPending = max(peakPending, p.sum("registrar_status_pending"))
			}
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	start := time.Now()
	st, err := run.run(ctx)
	allIn := time.Since(start)
	close(stop)
	sampled.Wait()
	if err != nil {
		return fmt.Errorf("while running the storm: %w", err)
	}
	if err := t.settle(ctx); err != nil {
		return err
	}
	written := time.Since(start)
	after, err := scrape(s.regMetrics)
	if err != nil {
		return fmt.Errorf("while reading the registrar's metrics: %w", err)
	}
	delta := func(name string, filters ...string) float64 {
		return after.sum(name, filters...) - before.sum(name, filters...)
	}
	rows := []kv{
		{"devices", fmt.Sprint(n), ""},
		{"registered", fmt.Sprint(st.Successful), fmt.Sprint(n)},
		{"failed calls", fmt.Sprint(st.Failed), "0"},
		{"SIPp retransmissions", fmt.Sprint(st.Retrans), ""},
		{"all registered after", allIn.Round(10 * time.Millisecond).String(), "(SIPp run, from its first REGISTER)"},
		{"REGISTERs shed with 503", fmt.Sprint(delta("sip_udp_register_shed_total")), ""},
		{"registrations the registrar counted", fmt.Sprint(delta("sip_register_requests_total", `outcome="registered"`)), ""},
		{"status writes", fmt.Sprint(delta("registrar_status_writes_total")), "coalesced: fewer than devices"},
		{"peak status backlog (AORs)", fmt.Sprint(peakPending), ""},
		// settle gives up after two minutes: a backlog left then is reported, not hidden.
		{"status written after", written.Round(10 * time.Millisecond).String(), ""},
		{"status backlog then (AORs)", fmt.Sprint(after.sum("registrar_status_pending")), "0"},
		{"registrar peak memory (VmHWM)", fmt.Sprintf("%.0f MB", t.peakMemMB(0, 0)), ""},
		{"registrar alive", fmt.Sprint(t.alive()), "true"},
	}
	printKV(rows)
	writeKV(filepath.Join(o.out, "storm.csv"), rows)
	if st.Successful != n {
		return fmt.Errorf("storm: %d of %d devices registered (see %s)", st.Successful, n, dir)
	}
	return nil
}
