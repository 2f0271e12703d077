package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// scaleOptions are the flags of the control-loop benchmark.
type scaleOptions struct {
	extensions, domains int
	workers             int
	newExtensions       int
	refresh             time.Duration
	expires             int
	steadyWindow        time.Duration
	skipSteady          bool
	readyTimeout        time.Duration
	out, binDir         string
	skipBuild           bool
	operatorArgs        string
	registrarArgs       string
	registrarEnv        string
	operatorEnv         string
	pprof               bool
	otherSecrets        int
	otherSecretKB       int
}

func scaleMain(args []string) error {
	o := scaleOptions{}
	fs := flag.NewFlagSet("bench scale", flag.ExitOnError)
	fs.IntVar(&o.extensions, "extensions", 10000, "Extensions to create (the issue: 10,000, optionally 100,000).")
	fs.IntVar(&o.domains, "domains", 1000, "Domains they are spread over.")
	fs.IntVar(&o.workers, "workers", 16, "Concurrent creates (the benchmark's client is not rate limited).")
	fs.IntVar(&o.newExtensions, "new-extensions", 100, "Extensions created one at a time afterwards, each timed from create to the registrar's 200 OK.")
	fs.DurationVar(&o.refresh, "refresh", 60*time.Second, "Steady state: every device re-registers this often.")
	fs.IntVar(&o.expires, "expires", 120, "Steady state: Expires of the devices' REGISTERs.")
	fs.DurationVar(&o.steadyWindow, "steady-window", 16*time.Minute,
		"Steady state: how long API writes are counted, after one refresh period of warm-up. The default spans one status lease renewal (--status-lease 15m).")
	fs.BoolVar(&o.skipSteady, "skip-steady", false, "Skip the steady state.")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 3*time.Hour, "Give up waiting for all Extensions to be Ready after this.")
	fs.StringVar(&o.out, "out", defaultOut(), "Folder for results; each run writes a time-stamped subfolder.")
	fs.StringVar(&o.binDir, "bin-dir", filepath.Join(testenv.Root(), "bin"), "Where bin/operator and bin/registrar are built.")
	fs.BoolVar(&o.skipBuild, "skip-build", false, "Use the operator and registrar already in --bin-dir.")
	fs.StringVar(&o.operatorArgs, "operator-args", "", "Extra operator flags (default: none, the operator as shipped: --kube-api-qps=50 --kube-api-burst=100).")
	fs.StringVar(&o.registrarArgs, "registrar-args", "", "Extra registrar flags.")
	fs.StringVar(&o.registrarEnv, "registrar-env", "", "Space-separated KEY=VALUE environment of the registrar process only, e.g. GOGC=400 or GOMEMLIMIT=270MiB.")
	fs.StringVar(&o.operatorEnv, "operator-env", "",
		"Space-separated KEY=VALUE environment of the operator process only, e.g. GOMEMLIMIT=270MiB: "+
			"the soft limit the chart's --memory-limit-ratio sets in a container.")
	fs.BoolVar(&o.pprof, "pprof", false,
		"Run the registrar with net/http/pprof (bench registrar-child) and the operator with --pprof-bind-address, "+
			"and save their heap profiles after the bulk load and at the end.")
	fs.IntVar(&o.otherSecrets, "other-secrets", 0,
		"Secrets the operator does not manage, created first in a namespace of their own: a real cluster's Helm releases, TLS keys and tokens.")
	fs.IntVar(&o.otherSecretKB, "other-secret-kb", 64, "Size of each of --other-secrets, KiB.")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.extensions < 1 || o.domains < 1 || o.domains > o.extensions {
		return fmt.Errorf("want 1 <= --domains <= --extensions")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runScale(ctx, o)
}

// kv is one line of the scale results.
type kv struct{ name, value, target string }

func runScale(ctx context.Context, o scaleOptions) error {
	run := filepath.Join(o.out, "scale-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(run, 0o755); err != nil {
		return err
	}
	step("results go to " + run)
	var results []kv
	add := func(name, value, target string) {
		results = append(results, kv{name, value, target})
		fmt.Printf("    %-58s %s\n", name, value)
	}
	defer func() {
		writeKV(filepath.Join(run, "scale.csv"), results)
		printKV(results)
		fmt.Printf("\nCSV: %s\n", filepath.Join(run, "scale.csv"))
	}()

	operatorArgs := strings.Fields(o.operatorArgs)
	var opPprof string
	if o.pprof {
		port, err := freePort()
		if err != nil {
			return err
		}
		opPprof = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", port)
		operatorArgs = append(operatorArgs, fmt.Sprintf("--pprof-bind-address=127.0.0.1:%d", port))
	}
	sys, err := startSystem(ctx, sysOptions{
		Out: run, BinDir: o.binDir, SkipBuild: o.skipBuild, SIPTransports: "udp,tcp", Pprof: o.pprof,
		OperatorArgs: operatorArgs, RegistrarArgs: strings.Fields(o.registrarArgs), RegistrarEnv: strings.Fields(o.registrarEnv),
		OperatorEnv: strings.Fields(o.operatorEnv),
	})
	defer func() { sys.stop() }()
	if err != nil {
		return err
	}
	// The registrar runs first and watches the credentials arrive.
	if err := sys.startRegistrar(ctx); err != nil {
		return err
	}
	tracker, err := sys.trackReady(ctx)
	if err != nil {
		return err
	}
	add("extensions / domains", fmt.Sprintf("%d / %d", o.extensions, o.domains), "")
	if o.otherSecrets > 0 {
		add("Secrets the operator does not manage", fmt.Sprintf("%d of %d KiB", o.otherSecrets, o.otherSecretKB), "")
	}
	add("operator flags", strings.Join(append([]string{"(defaults)"}, strings.Fields(o.operatorArgs)...), " "), "")

	users := makeUsers(o.extensions, o.domains, "")
	created := make([]time.Time, len(users))
	step(fmt.Sprintf("creating %d Domains, then %d Extensions (%d at a time; passwords generated by the operator)", o.domains, o.extensions, o.workers))
	t0 := time.Now()
	accepted := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			if p, err := scrape(sys.regMetrics); err == nil && int(p.sum("registrar_credentials")) >= o.extensions {
				accepted <- time.Now()
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	progressDone := make(chan struct{})
	stopProgress := sync.OnceFunc(func() { close(progressDone) })
	defer stopProgress()
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				e, d := tracker.counts()
				creds := -1.0
				if p, err := scrape(sys.regMetrics); err == nil {
					creds = p.sum("registrar_credentials")
				}
				step(fmt.Sprintf("  %s: %d/%d Domains and %d/%d Extensions Ready; the registrar knows %.0f credentials",
					time.Since(t0).Round(time.Second), d, o.domains, e, o.extensions, creds))
			}
		}
	}()
	if err := createOtherSecrets(ctx, sys, o); err != nil {
		return err
	}
	if err := sys.createDomains(ctx, o.domains, o.workers); err != nil {
		return err
	}
	if err := parallel(ctx, len(users), o.workers, func(ctx context.Context, i int) error {
		err := sys.createExtension(ctx, users[i], domainIndex(users[i]))
		created[i] = time.Now()
		return err
	}); err != nil {
		return err
	}
	createdIn := time.Since(t0)
	add("time to create every Domain and Extension (client)", createdIn.Round(100*time.Millisecond).String(), "")
	if err := tracker.waitCounts(ctx, o.extensions, o.domains, o.readyTimeout, nil); err != nil {
		return err
	}
	readyIn := time.Since(t0)
	add("time until all Extensions are Ready (from the first create)", readyIn.Round(100*time.Millisecond).String(), "")
	var acceptIn time.Duration
	select {
	case at := <-accepted:
		acceptIn = at.Sub(t0)
	case <-time.After(10 * time.Minute):
		return fmt.Errorf("the registrar did not learn all %d credentials within 10 minutes of all being Ready", o.extensions)
	case <-ctx.Done():
		return ctx.Err()
	}
	stopProgress()
	add("time until the registrar accepts all (knows every credential)", acceptIn.Round(100*time.Millisecond).String(), "")
	add("Extensions Ready per second (average)", fmt.Sprintf("%.0f", float64(o.extensions)/readyIn.Seconds()), "")
	var lat []time.Duration
	for i, u := range users {
		if at, ok := tracker.readyAt(u.Object); ok {
			lat = append(lat, at.Sub(created[i]))
		}
	}
	add("create → Ready per Extension during the bulk load p50 / p99 / max",
		fmt.Sprintf("%s / %s / %s", ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1))), "")
	memory(sys, "after the bulk load", o.extensions, add)
	liveHeap(opPprof, "operator", o.extensions, add)
	etcdFootprint(ctx, sys, "after the bulk load", o.extensions, add)
	operatorWritesPerExtension(sys, o.extensions, add)
	heapProfile(sys.regPprof, "registrar", filepath.Join(run, "registrar-heap-bulk.pprof"))
	heapProfile(opPprof, "operator", filepath.Join(run, "operator-heap-bulk.pprof"))

	// New Extensions, one at a time, timed until the registrar answers 200 OK.
	if o.newExtensions > 0 {
		if err := newExtensionLatency(ctx, sys, tracker, o, run, add); err != nil {
			return err
		}
	}
	if o.skipSteady {
		return nil
	}
	return steadyState(ctx, sys, o, users, run, opPprof, add)
}

// newExtensionLatency creates o.newExtensions Extensions one at a time and times each
// from its create until the registrar answers its digest REGISTER with 200 OK. Each
// one's times, tries and last refusal go to new-extensions.csv, so that an outlier
// says what it waited for.
func newExtensionLatency(
	ctx context.Context, sys *system, tracker *readyTracker, o scaleOptions, run string, add func(name, value, target string),
) error {
	step(fmt.Sprintf("creating %d more Extensions one at a time, each timed until the registrar registers it", o.newExtensions))
	newUsers := makeUsers(o.newExtensions, o.domains, "n")
	var acc, rdy []time.Duration
	conn, err := net.Dial("udp", sys.sipAddr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	buf := make([]byte, 65536)
	perExt, err := os.Create(filepath.Join(run, "new-extensions.csv"))
	if err != nil {
		return err
	}
	defer func() { _ = perExt.Close() }()
	cw := csv.NewWriter(perExt)
	defer cw.Flush()
	_ = cw.Write([]string{"extension", "accepted_ms", "ready_ms", "register_tries", "last_refusal"})
	for i := range newUsers {
		u := &newUsers[i]
		u.Password = randHex(12)
		// The password Secret first (not timed): the Extension refers to it.
		if err := sys.createPasswordSecret(ctx, *u); err != nil {
			return err
		}
		start := time.Now()
		if err := sys.createExtension(ctx, *u, domainIndex(*u)); err != nil {
			return err
		}
		var last error
		var tries int
		var refusal string
		for time.Since(start) < 60*time.Second {
			tries++
			if last = registerOnce(conn, buf, *u, time.Second); last == nil {
				break
			}
			refusal = last.Error()
			time.Sleep(10 * time.Millisecond)
		}
		if last != nil {
			return fmt.Errorf("new Extension %s not accepted within 60s: %w", u.Object, last)
		}
		acc = append(acc, time.Since(start))
		if err := waitFor(ctx, time.Minute, u.Object+" Ready", func() error {
			if _, ok := tracker.readyAt(u.Object); !ok {
				return fmt.Errorf("not Ready")
			}
			return nil
		}); err != nil {
			return err
		}
		at, _ := tracker.readyAt(u.Object)
		rdy = append(rdy, at.Sub(start))
		accepted, ready := acc[len(acc)-1].Milliseconds(), rdy[len(rdy)-1].Milliseconds()
		_ = cw.Write([]string{u.Object, strconv.FormatInt(accepted, 10), strconv.FormatInt(ready, 10), strconv.Itoa(tries), refusal})
	}
	add(fmt.Sprintf("new Extension accepted by the registrar (n=%d) p50 / p99 / max", len(acc)),
		fmt.Sprintf("%s / %s / %s", ms(percentile(acc, .5)), ms(percentile(acc, .99)), ms(percentile(acc, 1))), "p99 < 1 s")
	add("new Extension Ready p50 / p99 / max",
		fmt.Sprintf("%s / %s / %s", ms(percentile(rdy, .5)), ms(percentile(rdy, .99)), ms(percentile(rdy, 1))), "")
	return nil
}

// steadyState registers every extension as a phone that refreshes every o.refresh and
// counts API writes once the first round is done.
func steadyState(ctx context.Context, sys *system, o scaleOptions, users []user, run, opPprof string, add func(name, value, target string)) error {
	if err := sys.readPasswords(ctx, users); err != nil {
		return err
	}
	f, err := newFleet(sys.sipAddr, users, o.refresh, o.expires)
	if err != nil {
		return err
	}
	fctx, stopFleet := context.WithCancel(ctx)
	defer stopFleet()
	go f.run(fctx)
	regRate := float64(len(users)) / o.refresh.Seconds()
	warm := o.refresh + 20*time.Second
	step(fmt.Sprintf("steady state: %d phones, each re-registering every %s (%.1f registrations/s, %.1f REGISTER/s); warm-up %s, then counting for %s",
		len(users), o.refresh, regRate, 2*regRate, warm, o.steadyWindow))
	wStart := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(warm):
	}
	// The first round is N new registrations, each a status write (and the operator's
	// reactions): the steady state starts when those are written.
	if err := waitFor(ctx, 30*time.Minute, "the first round's status writes", func() error {
		p, err := scrape(sys.regMetrics)
		if err != nil {
			return err
		}
		if n := p.sum("registrar_status_pending"); n > 0 {
			return fmt.Errorf("the registrar has %.0f AORs to write", n)
		}
		op, err := scrape(sys.opMetrics)
		if err != nil {
			return err
		}
		if n := op.sum("workqueue_depth"); n > 0 {
			return fmt.Errorf("the operator has %.0f objects queued", n)
		}
		return nil
	}); err != nil {
		return err
	}
	add("steady state: first round written (registrar status and operator queue drained) after", time.Since(wStart).Round(time.Second).String(), "")
	etcdFootprint(ctx, sys, "with every phone registered", len(users), add)
	type snap struct {
		at                 time.Time
		api                promText
		status, ok, opW    float64
		reg, op, cp        float64
		lost, failed, sent int64
	}
	take := func() (snap, error) {
		s := snap{at: time.Now()}
		var err error
		if s.api, err = sys.apiMetrics(ctx); err != nil {
			return s, err
		}
		p, err := scrape(sys.regMetrics)
		if err != nil {
			return s, err
		}
		s.status = p.sum("registrar_status_writes_total")
		if op, err := scrape(sys.opMetrics); err == nil {
			for _, m := range httpWriteMethods {
				s.opW += op.sum("rest_client_requests_total", `method="`+m+`"`)
			}
		}
		s.ok = float64(f.ok.Load())
		s.lost, s.failed, s.sent = f.lost.Load(), f.failed.Load(), f.sent.Load()
		s.reg, s.op = procCPU(sys.registrar.pid()), procCPU(sys.operator.pid())
		s.cp = group{pids: sys.controlPlanePIDs}.cpu()
		return s, nil
	}
	first, err := take()
	if err != nil {
		return err
	}
	if first.ok < float64(len(users)) {
		add("WARNING: phones registered in the first round", fmt.Sprintf("%.0f of %d", first.ok, len(users)), "")
	}
	series, err := os.Create(filepath.Join(run, "steady-state.csv"))
	if err != nil {
		return err
	}
	defer func() { _ = series.Close() }()
	cw := csv.NewWriter(series)
	_ = cw.Write([]string{"minute", "registrations", "register_requests", "api_writes", "registrar_status_writes", "api_writes_per_s", "registrations_per_s"})
	prev := first
	end := first.at.Add(o.steadyWindow)
	for minute := 1; time.Now().Before(end); minute++ {
		wait := min(time.Minute, time.Until(end))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		cur, err := take()
		if err != nil {
			return err
		}
		secs := cur.at.Sub(prev.at).Seconds()
		w := apiWrites(cur.api) - apiWrites(prev.api)
		regs := cur.ok - prev.ok
		_ = cw.Write([]string{strconv.Itoa(minute), f1(regs), f1(float64(cur.sent - prev.sent)), f1(w), f1(cur.status - prev.status), f2(w / secs), f2(regs / secs)})
		cw.Flush()
		step(fmt.Sprintf("  minute %d: %.0f registrations (%.1f/s), %.0f API writes (%.2f/s), %.0f registrar status writes",
			minute, regs, regs/secs, w, w/secs, cur.status-prev.status))
		prev = cur
	}
	last := prev
	secs := last.at.Sub(first.at).Seconds()
	writes := apiWrites(last.api) - apiWrites(first.api)
	regs := last.ok - first.ok
	reqs := float64(last.sent - first.sent)
	add("steady state: window", fmt.Sprintf("%s after %s of warm-up", time.Duration(secs*float64(time.Second)).Round(time.Second), warm), "")
	add("steady state: registrations/s (REGISTER requests/s)", fmt.Sprintf("%.1f (%.1f)", regs/secs, reqs/secs), "")
	ours := (last.status - first.status) + (last.opW - first.opW)
	add("steady state: API writes/s, all clients (kube-apiserver's count)", fmt.Sprintf("%.2f", writes/secs), "")
	add("steady state: API writes/s by the registrar + the operator", fmt.Sprintf("%.2f (%.2f + %.2f)", ours/secs,
		(last.status-first.status)/secs, (last.opW-first.opW)/secs), "")
	add("steady state: API writes / registrations (all clients)", fmt.Sprintf("%.2f%%", 100*writes/regs), "< 10%")
	add("steady state: API writes / REGISTER requests (all clients)", fmt.Sprintf("%.2f%%", 100*writes/reqs), "")
	add("steady state: phones failed / lost (no answer within a period)", fmt.Sprintf("%d / %d", last.failed-first.failed, last.lost-first.lost), "0 / 0")
	add("steady state: CPU registrar / operator / control plane (% of a core)",
		fmt.Sprintf("%.1f / %.1f / %.1f", 100*(last.reg-first.reg)/secs, 100*(last.op-first.op)/secs, 100*(last.cp-first.cp)/secs), "")
	by := apiWritesBy(last.api)
	before := apiWritesBy(first.api)
	type rw struct {
		k string
		v float64
	}
	var rows []rw
	for k, v := range by {
		if d := v - before[k]; d > 0 {
			rows = append(rows, rw{k, d})
		}
	}
	slices.SortFunc(rows, func(a, b rw) int { return int(b.v - a.v) })
	for i, r := range rows {
		if i == 6 {
			break
		}
		add("steady state: writes by resource and verb: "+r.k, fmt.Sprintf("%.0f (%.2f/s)", r.v, r.v/secs), "")
	}
	stopFleet()
	memory(sys, fmt.Sprintf("with %d phones registered", len(users)), o.extensions, add)
	heapProfile(sys.regPprof, "registrar", filepath.Join(run, "registrar-heap-steady.pprof"))
	heapProfile(opPprof, "operator", filepath.Join(run, "operator-heap-steady.pprof"))
	if f.lastErr.Load() != nil {
		add("steady state: last phone error", fmt.Sprint(f.lastErr.Load()), "")
	}
	return nil
}

func ms(v float64) string {
	switch {
	case v != v: // NaN
		return "-"
	case v >= 10000:
		return fmt.Sprintf("%.1f s", v/1000)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

func writeKV(path string, rows []kv) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"measure", "value", "target"})
	for _, r := range rows {
		_ = w.Write([]string{r.name, r.value, r.target})
	}
	w.Flush()
}

func printKV(rows []kv) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "measure\tvalue\ttarget")
	for _, r := range rows {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, r.value, r.target)
	}
	_ = tw.Flush()
}
