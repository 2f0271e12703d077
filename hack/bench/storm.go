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
// without bound (its peak backlog), and the time until every binding is in status.
// Both times are checked against their bounds (--storm-registered-within,
// --storm-status-within), pass or FAIL in the table.
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
	watch := &statusWatch{metrics: s.regMetrics}
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		for {
			if p, err := scrape(s.regMetrics); err == nil {
				watch.peakPending = max(watch.peakPending, p.sum("registrar_status_pending"))
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
	// Every device is registered: the writer now owes status at most one write per
	// AOR. Waited for past its bound, so that a slow writer's time is measured, not
	// cut off.
	doneAt, inStatus, werr := watch.waitWritten(ctx, s.client, n, max(3*o.stormStatusWithin, 5*time.Minute))
	written := doneAt.Sub(start)
	if werr != nil { // gave up: say how far it got
		if inStatus, err = bindingsInStatus(ctx, s.client); err != nil {
			return err
		}
	}
	after, err := scrape(s.regMetrics)
	if err != nil {
		return fmt.Errorf("while reading the registrar's metrics: %w", err)
	}
	if err := t.settle(ctx); err != nil {
		return err
	}
	delta := func(name string, filters ...string) float64 {
		return after.sum(name, filters...) - before.sum(name, filters...)
	}
	writes := delta("registrar_status_writes_total")
	bounds := stormBounds{registered: o.stormRegisteredWithin, inStatus: o.stormStatusWithin}
	allRegistered := st.Successful == n
	allWritten := werr == nil && inStatus >= n
	rows := []kv{
		{"devices", fmt.Sprint(n), ""},
		{"registered", fmt.Sprint(st.Successful), fmt.Sprint(n)},
		{"failed calls", fmt.Sprint(st.Failed), "0"},
		{"SIPp retransmissions", fmt.Sprint(st.Retrans), ""},
		{"every device had its 200 OK after", allIn.Round(10 * time.Millisecond).String(), verdict(allIn, bounds.registered, allRegistered)},
		{"REGISTERs shed with 503", fmt.Sprint(delta("sip_udp_register_shed_total")), ""},
		{"registrations the registrar counted", fmt.Sprint(delta("sip_register_requests_total", `outcome="registered"`)), ""},
		{"every binding in status after", written.Round(10 * time.Millisecond).String(), verdict(written, bounds.inStatus, allWritten)},
		{"Extensions showing the binding then", fmt.Sprint(inStatus), fmt.Sprint(n)},
		{"status writes", fmt.Sprint(writes), "coalesced: at most one per AOR with a change"},
		{"status writes/s (mean, until all in status)", fmt.Sprintf("%.0f", writes/written.Seconds()), ""},
		{"peak status backlog (AORs queued or in flight)", fmt.Sprint(watch.peakPending), fmt.Sprintf("≤ %d (one entry per AOR)", n)},
		{"registrar peak memory (VmHWM)", fmt.Sprintf("%.0f MB", t.peakMemMB(0, 0)), ""},
		{"registrar alive", fmt.Sprint(t.alive()), "true"},
		{"load average after", loadAvg(), ""},
	}
	printKV(rows)
	writeKV(filepath.Join(o.out, "storm.csv"), rows)
	switch {
	case !allRegistered:
		return fmt.Errorf("storm: %d of %d devices registered (see %s)", st.Successful, n, dir)
	case allIn > bounds.registered:
		return fmt.Errorf("storm: every device registered after %s, over the bound of %s", allIn.Round(10*time.Millisecond), bounds.registered)
	case !allWritten || written > bounds.inStatus:
		return fmt.Errorf("storm: %d of %d bindings in status after %s (bound %s)", inStatus, n, written.Round(10*time.Millisecond), bounds.inStatus)
	}
	return nil
}
