// Command bench measures the registrar (make bench, make bench-scale).
//
//	bench [flags]          SIP throughput: SIPp REGISTER with digest at stepped rates
//	                       against a registrar started here (local control plane, N
//	                       Extensions applied); --vs kamailio runs the same scenario
//	                       against Kamailio in the same run and prints the ratio.
//	bench scale [flags]    the control loop against the real API server: N Extensions
//	                       over D Domains, time to Ready and to the registrar, memory,
//	                       new-Extension latency, API writes at steady state.
//	bench tls [flags]      REGISTER with digest over TLS and WSS (a connection per
//	                       registration, and kept connections), and the memory of
//	                       10,000 idle TLS and WSS connections.
//
// See hack/bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

func main() {
	args := os.Args[1:]
	var err error
	switch {
	case len(args) > 0 && args[0] == "registrar-child":
		err = registrarChild(args[1:])
	case len(args) > 0 && args[0] == "scale":
		ctrllog.SetLogger(logr.Discard())
		err = scaleMain(args[1:])
	case len(args) > 0 && args[0] == "report":
		err = reportMain(args[1:])
	case len(args) > 0 && args[0] == "tls":
		ctrllog.SetLogger(logr.Discard())
		err = tlsMain(args[1:])
	case len(args) > 0 && args[0] == "sip":
		ctrllog.SetLogger(logr.Discard())
		err = sipMain(args[1:])
	default:
		ctrllog.SetLogger(logr.Discard())
		err = sipMain(args)
	}
	if err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sipOptions are the flags of the SIP throughput benchmark.
type sipOptions struct {
	vs             string
	noOurs         bool
	extensions     int
	domains        int
	stepDuration   time.Duration
	rates          []float64
	startRate      float64
	maxRate        float64
	resolution     float64
	minAchieved    float64
	halfRate       bool
	probeRate      float64
	probeUsers     int
	pprof          bool
	profileSeconds int
	out            string
	binDir         string
	skipBuild      bool
	operatorArgs   string
	registrarArgs  string
	registrarEnv   string
	transports     string
	kamChildren    []int
	rounds         int
	cpuRate        float64
	cpuLeadIn      time.Duration
	rcvBuf         int
	serverCPUs     float64
	smoke          bool
	pause          time.Duration
	warmup         bool
	sippProcesses  int       // SIPp processes the load is split over (--sipp-processes)
	sipps          sippSplit // set per server by searchRates
	expires        int
	storm          time.Duration
	overload       float64 // the max clean rate the overload steps are multiples of

	// The storm's bounds, checked in its table (storm_bounds.go).
	stormRegisteredWithin, stormStatusWithin time.Duration
}

// given is the set of flags set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func defaultOut() string { return filepath.Join(testenv.Root(), "hack", "bench", "out") }

func sipMain(args []string) error {
	o := sipOptions{}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	var rates, children string
	fs.StringVar(&o.vs, "vs", "", "Also run the same scenario against this server in the same run: kamailio.")
	fs.BoolVar(&o.noOurs, "no-ours", false, "Skip our registrar (with --vs: measure only the other server).")
	fs.IntVar(&o.extensions, "extensions", 1000, "Extensions (SIPp users; each call takes the next one).")
	fs.DurationVar(&o.stepDuration, "step-duration", 20*time.Second, "Length of each rate step (the issue asks for at least 20s).")
	fs.StringVar(&rates, "rates", "", "Comma-separated call rates to run, in order (default: search: double from --start-rate until a step fails, then bisect).")
	fs.Float64Var(&o.startRate, "start-rate", 1000, "First rate of the search, calls/s.")
	fs.Float64Var(&o.maxRate, "max-rate", 64000, "Highest rate the search tries.")
	fs.Float64Var(&o.resolution, "resolution", 500,
		"The search stops when the gap between the best passing and the lowest failing rate is below this or 10% of the best.")
	fs.Float64Var(&o.minAchieved, "min-achieved", 0.97, "A step passes only if SIPp achieved at least this fraction of the target rate.")
	fs.BoolVar(&o.halfRate, "half-rate", true, "After the search, run one step at half the best rate (the p99 target is taken there).")
	fs.Float64Var(&o.probeRate, "probe-rate", 50, "Calls/s of the latency probe that runs beside SIPp (0 disables).")
	fs.IntVar(&o.probeUsers, "probe-users", 4, "Extensions the probe registers (not in SIPp's users file).")
	fs.BoolVar(&o.pprof, "pprof", false, "Run the registrar with net/http/pprof (bench registrar-child) and save a CPU profile of every step.")
	fs.IntVar(&o.profileSeconds, "profile-seconds", 10, "Length of each step's CPU profile with --pprof.")
	fs.StringVar(&o.out, "out", defaultOut(), "Folder for results; each run writes a time-stamped subfolder.")
	fs.StringVar(&o.binDir, "bin-dir", filepath.Join(testenv.Root(), "bin"), "Where bin/operator and bin/registrar are built.")
	fs.BoolVar(&o.skipBuild, "skip-build", false, "Use the operator and registrar already in --bin-dir.")
	fs.StringVar(&o.operatorArgs, "operator-args", "--kube-api-qps=500 --kube-api-burst=1000",
		"Extra operator flags (the default only speeds up creating the fixtures; the steps do not depend on it).")
	fs.StringVar(&o.registrarArgs, "registrar-args", "", "Extra registrar flags, e.g. --status-interval=1s.")
	fs.StringVar(&o.registrarEnv, "registrar-env", "", "Space-separated KEY=VALUE environment of the registrar process only, e.g. GOGC=400 or GOMEMLIMIT=270MiB.")
	fs.StringVar(&o.transports, "transports", "udp,tcp", "Transports the registrar serves (SIPp uses UDP).")
	fs.StringVar(&children, "kamailio-children", "2,4",
		"Kamailio UDP worker counts to sweep in the first round (comma-separated); the best is measured in the other rounds.")
	fs.IntVar(&o.rounds, "rounds", 0, "Rounds: in each, ours then Kamailio are measured, in turns (default: 3 with --vs, else 1).")
	fs.Float64Var(&o.cpuRate, "cpu-rate", 3000, "Rate of the step after the search at which CPU µs per registration is compared (0: none).")
	fs.DurationVar(&o.cpuLeadIn, "cpu-lead-in", 15*time.Second,
		"An unmeasured step at --cpu-rate just before its step, so that the CPU is measured in steady state at that rate (0: none).")
	fs.Float64Var(&o.serverCPUs, "server-cpus", 0,
		"Confine the server under test (our registrar; Kamailio with --vs) to this many cores with a CFS quota over 100 ms, as a pod's CPU limit does "+
			"(a cgroup of its own; needs root). SIPp on the same machine then has the rest: use it with --overload, so that 3× of the max clean rate can be offered "+
			"(find that rate with a search under the same --server-cpus). 0: no limit.")
	fs.IntVar(&o.rcvBuf, "udp-receive-buffer", 4<<20,
		"UDP receive buffer both servers ask the kernel for, bytes (the registrar's shipped default; ours --udp-receive-buffer, Kamailio maxbuffer).")
	fs.BoolVar(&o.smoke, "smoke", false,
		"A short run that checks the harness, no measurement: one round, 3 s steps, 200 Extensions, searches up to 8,000/s, "+
			"CPU step at 1,000/s (each unless given).")
	fs.DurationVar(&o.pause, "pause", 3*time.Second, "Rest between steps (ours also waits until its status writer has caught up).")
	fs.IntVar(&o.expires, "expires", 3600, "Expires of the SIPp REGISTERs.")
	fs.DurationVar(&o.storm, "storm", 0,
		"Instead of the steps: every device, none registered before, registers once within this window (--extensions 20000 --storm 10s), "+
			"retrying 1–4 s after a 503 (hack/bench/storm.go).")
	fs.DurationVar(&o.stormRegisteredWithin, "storm-registered-within", 20*time.Second,
		"The storm's bound: every device has its 200 OK within this of the first REGISTER.")
	fs.DurationVar(&o.stormStatusWithin, "storm-status-within", 4*time.Minute,
		"The storm's bound: every binding is in its Extension's status within this of the first REGISTER.")
	fs.Float64Var(&o.overload, "overload", 0,
		"Instead of the search: the overload scenario around this max clean rate R: 30 s steps at R, 1.5R and 3R, then R/2 "+
			"right after the load (recovery); goodput is the achieved rate (hack/bench/overload.go).")
	fs.IntVar(&o.sippProcesses, "sipp-processes", 0,
		"SIPp processes each step's load is split over, each with its share of the devices and its own port (one SIPp cannot read "+
			"its answers past about 15,000 registrations/s); 0: one per core, at least two, or with --overload one per 15,000/s of its highest step.")
	fs.BoolVar(&o.warmup, "warmup", true, "Register every device once before the steps (steady state: the steps measure re-registrations).")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.smoke {
		given := given(fs)
		for name, v := range map[string]string{
			"rounds": "1", "step-duration": "3s", "extensions": "200", "max-rate": "8000",
			"cpu-rate": "1000", "cpu-lead-in": "2s", "pause": "1s",
		} {
			if !given[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	if o.rounds == 0 {
		o.rounds = 1
		if o.vs != "" {
			o.rounds = 3
		}
	}
	for r := range strings.SplitSeq(rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("--rates: %q is not a rate", r)
		}
		o.rates = append(o.rates, v)
	}
	if o.overload > 0 {
		overloadSteps(&o, given(fs))
	}
	if o.sippProcesses <= 0 {
		o.sippProcesses = defaultSippProcesses(o.overload > 0, o.rates)
	}
	for c := range strings.SplitSeq(children, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("--kamailio-children: %q is not a worker count", c)
		}
		o.kamChildren = append(o.kamChildren, n)
	}
	if o.rounds < 1 {
		return errors.New("want --rounds >= 1")
	}
	if o.vs != "" && o.vs != kamailioName {
		return fmt.Errorf("--vs %q: only kamailio is known", o.vs)
	}
	if o.noOurs && o.vs == "" {
		return errors.New("--no-ours needs --vs")
	}
	if o.extensions < 1 {
		return errors.New("want --extensions >= 1")
	}
	// One domain: SIPp takes the digest-uri from -auth_uri, one for the whole run, and
	// the registrar checks it against the Request-URI (the domain).
	o.domains = 1
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runSIP(ctx, o)
}

func runSIP(ctx context.Context, o sipOptions) error {
	run := filepath.Join(o.out, "sip-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(run, 0o755); err != nil {
		return err
	}
	o.out = run
	step("results go to " + run)
	load := loadAvg()
	users := makeUsers(o.extensions, o.domains, "")
	probes := makeUsers(o.probeUsers, o.domains, "p")
	var sys *system
	defer func() { sys.stop() }()
	if !o.noOurs {
		var err error
		if sys, err = prepareOurs(ctx, o, users, probes); err != nil {
			return err
		}
	} else {
		for i := range users {
			users[i].Password = randHex(12)
		}
		for i := range probes {
			probes[i].Password = randHex(12)
		}
	}
	usersFile := filepath.Join(run, "users.csv")
	if err := writeUsers(usersFile, users); err != nil {
		return err
	}
	if sys != nil && o.storm > 0 {
		return runStorm(ctx, sys, o, usersFile, len(users)+len(probes))
	}
	c := comparison{o: o, sys: sys, usersFile: usersFile, users: users, probes: probes, csv: filepath.Join(run, "sip.csv")}
	err := c.run(ctx)
	sys.stop()
	sys = nil
	if len(c.results) == 0 {
		return err
	}
	printTable(os.Stdout, c.results)
	if o.overload > 0 {
		printOverload(os.Stdout, o.overload, c.results)
	}
	rep := makeReport(c.results)
	rep.Smoke, rep.LoadBefore, rep.LoadAfter = o.smoke, load, loadAvg()
	rep.ServerCPUs = o.serverCPUs
	if werr := writeReport(run, rep, c.results); werr != nil && err == nil {
		err = werr
	}
	return err
}

// prepareOurs starts the control plane and the operator, creates the Domain and the
// Extensions, and reads back the passwords the operator generated.
func prepareOurs(ctx context.Context, o sipOptions, users, probes []user) (*system, error) {
	sys, err := startSystem(ctx, sysOptions{
		Out: o.out, BinDir: o.binDir, SkipBuild: o.skipBuild, Pprof: o.pprof, SIPTransports: o.transports,
		OperatorArgs: strings.Fields(o.operatorArgs), RegistrarEnv: strings.Fields(o.registrarEnv), ServerCPUs: o.serverCPUs,
		// The same receive buffer as Kamailio's, whatever the shipped default.
		RegistrarArgs: append([]string{fmt.Sprintf("--udp-receive-buffer=%d", o.rcvBuf)}, strings.Fields(o.registrarArgs)...),
	})
	if err != nil {
		return sys, err
	}
	tracker, err := sys.trackReady(ctx)
	if err != nil {
		return sys, err
	}
	step(fmt.Sprintf("creating %d Domains and %d Extensions (+%d for the probe; passwords generated by the operator)", o.domains, o.extensions, len(probes)))
	start := time.Now()
	if err := sys.createDomains(ctx, o.domains, 16); err != nil {
		return sys, err
	}
	all := append(append([]user{}, users...), probes...)
	if err := parallel(ctx, len(all), 16, func(ctx context.Context, i int) error {
		return sys.createExtension(ctx, all[i], domainIndex(all[i]))
	}); err != nil {
		return sys, err
	}
	if err := tracker.waitCounts(ctx, len(all), o.domains, 30*time.Minute, func(e, d int) {
		step(fmt.Sprintf("  %d/%d Extensions Ready", e, len(all)))
	}); err != nil {
		return sys, err
	}
	step(fmt.Sprintf("all Ready after %s", time.Since(start).Round(100*time.Millisecond)))
	if err := sys.readPasswords(ctx, users); err != nil {
		return sys, err
	}
	return sys, sys.readPasswords(ctx, probes)
}

// writeReport prints the comparison and keeps it: summary.json, report.txt and the
// picture (plot.svg, plot.png) beside sip.csv.
func writeReport(dir string, rep report, rs []stepResult) error {
	var b strings.Builder
	printReport(&b, rep)
	fmt.Print(b.String())
	if err := os.WriteFile(filepath.Join(dir, "report.txt"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := rep.writeJSON(filepath.Join(dir, "summary.json")); err != nil {
		return err
	}
	if err := plotSteps(rs, filepath.Join(dir, "plot")); err != nil {
		return fmt.Errorf("while drawing the steps: %w", err)
	}
	fmt.Printf("\nsteps: %s\nsummary: %s\npicture: %s\n", filepath.Join(dir, "sip.csv"),
		filepath.Join(dir, "summary.json"), filepath.Join(dir, "plot.svg")+" and .png")
	return nil
}

// reportMain makes the report and the picture again from a run's sip.csv:
// bench report hack/bench/out/sip-….
func reportMain(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: bench report <results folder with sip.csv>")
	}
	rs, err := readCSV(filepath.Join(args[0], "sip.csv"))
	if err != nil {
		return err
	}
	return writeReport(args[0], makeReport(rs), rs)
}

func domainIndex(u user) int {
	name, _, _ := strings.Cut(u.Domain, ".")
	i, _ := strconv.Atoi(strings.TrimPrefix(name, "b"))
	return i
}
