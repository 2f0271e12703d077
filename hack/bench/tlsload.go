package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar/netguard"
	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

// tlsOptions are the flags of bench tls.
type tlsOptions struct {
	extensions   int
	transports   []string // of the load
	modes        []string
	concurrency  []int
	duration     time.Duration
	timeout      time.Duration
	conns        int
	connTrans    []string
	connWorkers  int
	sources      int
	curve        string
	pprof        bool
	out, binDir  string
	skipBuild    bool
	registrarArg string
	registrarEnv string
}

func tlsMain(args []string) error {
	o := tlsOptions{}
	fs := flag.NewFlagSet("bench tls", flag.ExitOnError)
	var transports, modes, conc, connTrans string
	fs.IntVar(&o.extensions, "extensions", 1000, "Extensions (devices) of the load.")
	fs.StringVar(&transports, "transports", "TLS,WSS", "Transports of the load, in order (TLS, WSS); empty: no load.")
	fs.StringVar(&modes, "modes", "new,kept",
		"Connection modes of the load: new (a TLS connection per registration, handshake included), kept (re-registrations over open connections).")
	fs.StringVar(&conc, "concurrency", "1,16",
		"Devices registering at once (closed loop: each begins its next registration when the last is done), one step each.")
	fs.DurationVar(&o.duration, "step-duration", 20*time.Second, "Length of each load step.")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "How long a device waits for a response.")
	fs.IntVar(&o.conns, "conns", 10000, "Idle connections of the memory measurement, per transport (0: none).")
	fs.StringVar(&connTrans, "conn-transports", "TLS,WSS", "Transports of the memory measurement, each against a registrar started afresh.")
	fs.IntVar(&o.connWorkers, "conn-workers", 32, "Connections opened at once in the memory measurement.")
	fs.IntVar(&o.sources, "sources", 8, "Loopback source addresses the devices connect from (127.0.0.2, ...), for ephemeral ports.")
	fs.StringVar(&o.curve, "curve", "X25519", "Key exchange the devices offer: X25519, P256, or default (Go's: X25519MLKEM768 first).")
	fs.BoolVar(&o.pprof, "pprof", true, "Run the registrar as bench registrar-child (pprof on loopback): a GC before each memory snapshot, and heap profiles.")
	fs.StringVar(&o.out, "out", defaultOut(), "Folder for results; each run writes a time-stamped subfolder.")
	fs.StringVar(&o.binDir, "bin-dir", filepath.Join(testenv.Root(), "bin"), "Where bin/operator and bin/registrar are built.")
	fs.BoolVar(&o.skipBuild, "skip-build", false, "Use the operator and registrar already in --bin-dir.")
	fs.StringVar(&o.registrarArg, "registrar-args", "", "Extra registrar flags.")
	fs.StringVar(&o.registrarEnv, "registrar-env", "", "Space-separated KEY=VALUE environment of the registrar process only.")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.transports, err = transportList("--transports", transports); err != nil {
		return err
	}
	if o.connTrans, err = transportList("--conn-transports", connTrans); err != nil {
		return err
	}
	for m := range strings.SplitSeq(modes, ",") {
		if m = strings.TrimSpace(m); m != "" {
			if m != "new" && m != "kept" {
				return fmt.Errorf("--modes: %q is neither new nor kept", m)
			}
			o.modes = append(o.modes, m)
		}
	}
	for c := range strings.SplitSeq(conc, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		v, err := strconv.Atoi(c)
		if err != nil || v < 1 {
			return fmt.Errorf("--concurrency: %q is not a count", c)
		}
		o.concurrency = append(o.concurrency, v)
	}
	if o.extensions < 1 {
		return errors.New("want --extensions >= 1")
	}
	for _, c := range o.concurrency {
		if c > o.extensions {
			return fmt.Errorf("--concurrency %d: more than the %d devices", c, o.extensions)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runTLS(ctx, o)
}

func transportList(flagName, v string) ([]string, error) {
	var out []string
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.ToUpper(strings.TrimSpace(t)); t == "" {
			continue
		}
		if t != transportTLS && t != transportWSS {
			return nil, fmt.Errorf("%s: %q is neither TLS nor WSS", flagName, t)
		}
		out = append(out, t)
	}
	return out, nil
}

// tlsRun is the system under test and what its devices connect with.
type tlsRun struct {
	o        tlsOptions
	sys      *system
	users    []user
	tlsConf  *tls.Config
	certFile string
	keyFile  string
	tlsAddr  string
	wssAddr  string
	benchPID int
}

func runTLS(ctx context.Context, o tlsOptions) error {
	files, err := raiseOpenFiles()
	if err != nil {
		return err
	}
	run := filepath.Join(o.out, "tls-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(run, 0o755); err != nil {
		return err
	}
	step(fmt.Sprintf("results go to %s (open files: %d, for this process and the registrar)", run, files))
	t := &tlsRun{o: o, benchPID: os.Getpid()}
	if err := t.certificate(run); err != nil {
		return err
	}
	t.users = makeUsers(o.extensions, 1, "")
	sys, err := startSystem(ctx, sysOptions{Out: run, BinDir: o.binDir, SkipBuild: o.skipBuild, Pprof: o.pprof, SIPTransports: "udp",
		OperatorArgs: []string{"--kube-api-qps=500", "--kube-api-burst=1000"}, RegistrarEnv: strings.Fields(o.registrarEnv)})
	t.sys = sys
	defer func() { sys.stop() }()
	if err != nil {
		return err
	}
	if err := t.fixtures(ctx); err != nil {
		return err
	}
	var results []loadResult
	if len(o.transports) > 0 && len(o.modes) > 0 && len(o.concurrency) > 0 {
		if err := t.startRegistrar(ctx, filepath.Join(run, "load")); err != nil {
			return err
		}
		for _, tr := range o.transports {
			for _, mode := range o.modes {
				for _, c := range o.concurrency {
					r, err := t.loadStep(ctx, tr, mode, c)
					if err != nil {
						return err
					}
					results = append(results, r)
					printLoad(os.Stdout, results[len(results)-1:], len(results) == 1)
				}
			}
		}
	}
	var costs []connResult
	for _, tr := range o.connTrans {
		if o.conns <= 0 {
			break
		}
		if err := t.startRegistrar(ctx, filepath.Join(run, "conns-"+strings.ToLower(tr))); err != nil {
			return err
		}
		c, err := t.measureConns(ctx, tr, filepath.Join(run, "conns-"+strings.ToLower(tr)))
		if err != nil {
			return err
		}
		costs = append(costs, c)
	}
	fmt.Println()
	printLoad(os.Stdout, results, true)
	printConns(os.Stdout, costs)
	return writeTLSReport(filepath.Join(run, "tls.txt"), results, costs)
}

// certificate writes a self-signed pair for 127.0.0.1 and trusts it.
func (t *tlsRun) certificate(dir string) error {
	pair, err := testcert.New(1, "127.0.0.1")
	if err != nil {
		return err
	}
	if t.certFile, t.keyFile, err = pair.Write(dir); err != nil {
		return err
	}
	t.tlsConf = &tls.Config{RootCAs: pair.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	switch strings.ToUpper(t.o.curve) {
	case "X25519":
		t.tlsConf.CurvePreferences = []tls.CurveID{tls.X25519}
	case "P256":
		t.tlsConf.CurvePreferences = []tls.CurveID{tls.CurveP256}
	case "DEFAULT":
	default:
		return fmt.Errorf("--curve %q: want X25519, P256 or default", t.o.curve)
	}
	return nil
}

// fixtures creates the Domain and the Extensions and reads their passwords.
func (t *tlsRun) fixtures(ctx context.Context) error {
	tracker, err := t.sys.trackReady(ctx)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("creating 1 Domain and %d Extensions (passwords generated by the operator)", len(t.users)))
	if err := t.sys.createDomains(ctx, 1, 1); err != nil {
		return err
	}
	if err := parallel(ctx, len(t.users), 16, func(ctx context.Context, i int) error {
		return t.sys.createExtension(ctx, t.users[i], 0)
	}); err != nil {
		return err
	}
	if err := tracker.waitCounts(ctx, len(t.users), 1, 30*time.Minute, func(e, _ int) {
		step(fmt.Sprintf("  %d/%d Extensions Ready", e, len(t.users)))
	}); err != nil {
		return err
	}
	return t.sys.readPasswords(ctx, t.users)
}

// startRegistrar (re)starts the registrar with TLS and WSS listeners, its logs in
// dir. The connection caps are raised: every device connects from 127.0.0.x, and
// the memory measurement holds more connections than the default cap of 4,096.
func (t *tlsRun) startRegistrar(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if t.sys.registrar != nil {
		t.sys.registrar.stop()
	}
	ports := make([]int, 2)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	t.tlsAddr, t.wssAddr = fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	maxConns := max(netguard.DefaultMaxConns, t.o.conns+1000)
	t.sys.o.Out = dir
	t.sys.o.RegistrarArgs = append([]string{
		"--sip-tls-address", t.tlsAddr, "--sip-wss-address", t.wssAddr,
		"--tls-cert-file", t.certFile, "--tls-key-file", t.keyFile,
		fmt.Sprintf("--tcp-max-connections=%d", maxConns), "--tcp-max-connections-per-ip=0",
	}, strings.Fields(t.o.registrarArg)...)
	if err := t.sys.startRegistrar(ctx); err != nil {
		return err
	}
	return t.sys.waitCredentials(ctx, len(t.users), 5*time.Minute)
}

func (t *tlsRun) dialer(transport string) *streamDialer {
	addr := t.tlsAddr
	if transport == transportWSS {
		addr = t.wssAddr
	}
	return &streamDialer{transport: transport, addr: addr, tls: t.tlsConf, sources: loopbackSources(t.o.sources)}
}

// loadStep runs c devices registering in a closed loop for the step's duration.
// kept: each of c connections carries its share of the devices, each registered
// once over it before the step (unmeasured: the move is a status write). new: each
// registration dials, handshakes, registers and closes; the binding's Contact stays
// (phoneContact), its source (the connection) changes, which is a status write each.
func (t *tlsRun) loadStep(ctx context.Context, transport, mode string, c int) (loadResult, error) {
	d := t.dialer(transport)
	devs := make([]*device, len(t.users))
	for i, u := range t.users {
		devs[i] = newDevice(u)
		devs[i].transport = transport
	}
	var conns []streamConn
	defer func() {
		for _, sc := range conns {
			_ = sc.Close()
		}
	}()
	if mode == "kept" {
		step(fmt.Sprintf("%s kept: %d connections, each device registering once over its own", transport, c))
		conns = make([]streamConn, c)
		for w := range conns {
			sc, err := d.dial(ctx)
			if err != nil {
				return loadResult{}, err
			}
			conns[w] = sc
		}
		if err := parallel(ctx, c, c, func(ctx context.Context, w int) error {
			for i := w; i < len(devs); i += c {
				if err := registerOver(conns[w], devs[i], phoneContact, t.o.timeout); err != nil {
					return fmt.Errorf("while registering %s before the step: %w", devs[i].u.Name, err)
				}
			}
			return nil
		}); err != nil {
			return loadResult{}, err
		}
	}
	if err := t.settle(ctx); err != nil {
		return loadResult{}, err
	}
	step(fmt.Sprintf("%s %s, %d at once, for %s", transport, mode, c, t.o.duration))
	profile := filepath.Join(t.sys.o.Out, fmt.Sprintf("cpu-%s-%s-%d.pprof", strings.ToLower(transport), mode, c))
	res, err := t.measure(ctx, profile, func(ctx context.Context, tl *tally) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range c {
			wg.Go(func() {
				if mode == "new" {
					for !stepOver(ctx) {
						took, connect, err := t.registerNew(ctx, d, devs[int(next.Add(1)-1)%len(devs)])
						if err != nil && stepOver(ctx) {
							return // cut by the end of the step, not failed
						}
						tl.add(took, connect, err)
					}
					return
				}
				// Connection w carries devices w, w+c, w+2c, ...
				for i := w; !stepOver(ctx); i += c {
					if i >= len(devs) {
						i = w
					}
					begin := time.Now()
					err := registerOver(conns[w], devs[i], phoneContact, t.o.timeout)
					tl.add(time.Since(begin), 0, err)
				}
			})
		}
		wg.Wait()
	})
	res.Transport, res.Mode, res.Concurrency = transport, mode, c
	return res, err
}

// phoneContact is where every device says it listens, in every step: its binding
// (keyed by the Contact) stays one, and only its flow changes when it comes over
// another connection.
const phoneContact = "192.0.2.1:5061"

// stepOver reports whether the step's context has ended. Its deadline counts as
// soon as it passes: a dial fails with "i/o timeout" at the deadline a little before
// the context's own timer marks it done, and the next dial at once, so checking
// ctx.Err alone counts a burst of failures that are only the step's end.
func stepOver(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(deadline)
}

// registerNew is a phone waking up: connect, handshake, register, close.
func (t *tlsRun) registerNew(ctx context.Context, d *streamDialer, dev *device) (took, connect time.Duration, err error) {
	begin := time.Now()
	sc, err := d.dial(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = sc.Close() }()
	connect = time.Since(begin)
	err = registerOver(sc, dev, phoneContact, t.o.timeout)
	return time.Since(begin), connect, err
}

// raiseOpenFiles lifts this process's open-file limit to its hard limit; the
// registrar, a child, inherits it.
func raiseOpenFiles() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("while reading the open-file limit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("while raising the open-file limit: %w", err)
	}
	return lim.Cur, nil
}
