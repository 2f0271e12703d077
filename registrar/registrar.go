package registrar

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/scheme"
	"github.com/voipbin/registrar-operator/internal/procscale"
	"github.com/voipbin/registrar-operator/registrar/clienttx"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/location"
	"github.com/voipbin/registrar-operator/registrar/netguard"
	"github.com/voipbin/registrar-operator/registrar/proxy"
	"github.com/voipbin/registrar-operator/registrar/register"
	"github.com/voipbin/registrar-operator/registrar/status"
	"github.com/voipbin/registrar-operator/registrar/streamserve"
	"github.com/voipbin/registrar-operator/registrar/throttle"
	"github.com/voipbin/registrar-operator/registrar/tlsserve"
	"github.com/voipbin/registrar-operator/registrar/udpfront"
	"github.com/voipbin/registrar-operator/registrar/wsserve"
)

// Config is one replica's configuration, from its flags.
type Config struct {
	// Namespace is where the operator publishes domains, credentials and the nonce key.
	Namespace string
	// Name identifies this replica (its pod name) in Extension status.
	Name string
	// SIPAddress is host:port for SIP over UDP and TCP.
	SIPAddress string
	// Transports lists "udp" and/or "tcp".
	Transports []string
	// TCPGuard bounds idle and half-open TCP connections (package netguard); the
	// zero value bounds nothing but still survives running out of descriptors. It
	// bounds the TLS listener's connections too, each listener on its own.
	TCPGuard netguard.Config
	// TLS is SIP over TLS; its zero value serves none.
	TLS TLSConfig
	// WS is SIP over WebSocket, plain and secure; its zero value serves none.
	WS WSConfig
	// MetricsAddress and ProbeAddress serve /metrics and /healthz, /readyz; "0" disables.
	MetricsAddress, ProbeAddress string
	NonceLifetime                time.Duration
	StatusLease                  time.Duration
	StatusInterval               time.Duration
	StatusWriters                int // status writes in flight at most; 0: status.DefaultWriters
	// BySource, BySourceAOR and ByAOR throttle authentication failures by source
	// address, by source address and AOR, and by AOR (see package guard).
	BySource, BySourceAOR, ByAOR throttle.Config
	// AdvertiseHost is the address other hops reach this replica at, for Via (and
	// Record-Route unless RecordRouteHost is set); empty means the listener's (or
	// the machine's) address.
	AdvertiseHost string
	// RecordRouteHost is the address phones reach the fleet at (the Service's IP
	// or DNS name), for Record-Route: phones outside the cluster send their BYE
	// and re-INVITE there, and whichever replica receives them routes them on. The
	// ports are the listening ones, unless RecordRoutePorts gives others.
	// Empty: AdvertiseHost.
	RecordRouteHost string
	// RecordRoutePorts are the ports phones reach RecordRouteHost at, per
	// transport, where they are not the listening ones: a NodePort Service's node
	// ports. They go into Record-Route, and a Route naming RecordRouteHost with one
	// of them is taken as ours. Only with RecordRouteHost; those of transports not
	// served are ignored, with a warning; 0: the listening port.
	RecordRoutePorts proxy.TransportPorts
	// DisableRecordRoute keeps the replica off the path of the dialogs it sets up
	// (record-routing is on by default, so a zero Config proxies in-dialog requests).
	DisableRecordRoute bool
	// TransactionalUDPRegister answers REGISTER over UDP through sipgo's server
	// transactions, as TCP does, instead of the stateless front end (package
	// udpfront): slower, kept to compare the two.
	TransactionalUDPRegister bool
	// UDPReceiveBuffer is the UDP socket's receive buffer in bytes (SO_RCVBUF, which
	// Linux caps at net.core.rmem_max); it absorbs bursts while the readers are
	// descheduled. 0 keeps the system default.
	UDPReceiveBuffer int
	// UDPShedAge is how long the REGISTERs may keep waiting in the UDP receive
	// queue before those without credentials are answered 503 with Retry-After
	// (udpfront.Config.ShedAge), so that under overload the readers spend their
	// time on the REGISTERs that complete a registration. 0 or negative: nothing
	// is shed (the registrar binary's flag defaults to udpfront.DefaultShedAge).
	UDPShedAge time.Duration
	// UDPShedRepliesPerSource and UDPShedReplies bound how many shed REGISTERs a
	// second get their 503, from one source IP address and from all sources; the
	// others are dropped unanswered, a fifteenth of a 503's cost, so that a flood from
	// a few addresses is cheap to refuse while phones elsewhere still get their 503.
	// 0 or negative: no bound (the registrar binary's flags default to
	// udpfront.DefaultSourceRefusals and udpfront.DefaultRefusals).
	UDPShedRepliesPerSource, UDPShedReplies int
	// AdaptiveProcs runs the process on one P while one core keeps up, and on all
	// of them once it does not (package procscale). It sets GOMAXPROCS for the
	// whole process: only one replica in a process may have it.
	AdaptiveProcs bool
	// RequireCallerAuth challenges callers whose From is a user of a domain we
	// serve.
	RequireCallerAuth bool
	// RoutedMethods are the methods routed to an extension's devices out of a
	// dialog (proxy.ParseRoutedMethods); nil is proxy.DefaultRoutedMethods.
	RoutedMethods []string
	// TimerC bounds how long a proxied INVITE may ring unanswered (RFC 3261 §16.8:
	// more than three minutes); 0 is the proxy's default.
	TimerC time.Duration
	// SerialForkTimeout bounds how long the devices of one q-value ring before
	// those of the next lower q are tried (RFC 3261 §16.6); 0 is the proxy's
	// default, negative leaves each group ringing until Timer C.
	SerialForkTimeout time.Duration
}

var setSipgoLogger sync.Once

// Replica is one running registrar replica: it answers SIP and writes the bindings
// it holds into Extension status.
type Replica struct {
	cfg       Config
	log       logr.Logger
	dir       *directory.Published
	exts      *directory.Extensions
	proxy     *proxy.Proxy
	m         *metrics
	table     *location.Table
	writer    *status.Writer
	registers *register.Handler
	// addrs is how the proxy and the status writer name this replica.
	addrs *proxy.Self
	// nonces, counts and guessing are shared by the REGISTER handler and the proxy:
	// a caller answers the proxy's challenges as it answers REGISTER's, and a wrong
	// answer counts on either path. keyed says nonces holds the published key.
	nonces   *digest.NonceSigner
	counts   *digest.NonceCounts
	guessing *guard.Guard
	ready    atomic.Bool
	keyed    atomic.Bool
	// SIPReady is closed once SIP listens; tests wait on it.
	SIPReady chan struct{}
	udp      net.PacketConn
	tcp      net.Listener
	tls      *netguard.Listener
	cert     *tlsserve.Certificate
	ws, wss  *wsserve.Listener

	restoreReader client.Reader
}

// New builds a replica and opens its listeners; Run serves. Each part takes what it
// works with in its constructor, in this order: the location table, which marks
// each AOR whose bindings change in changes; the directory of what the operator
// published (credentials, domains, the nonce key); the status writer, which drains
// changes into Extension status; the REGISTER handler (package register), which
// checks a request against the directory and binds it in the table; and the
// listeners, which bring requests to it (serveUDP and Run).
func New(cfg Config, rc *rest.Config, log logr.Logger) (*Replica, error) {
	if err := proxy.CheckRecordRouteHost(cfg.RecordRouteHost); err != nil {
		return nil, fmt.Errorf("while checking the record-route host: %w", err)
	}
	ports, ignored, err := proxy.CheckRecordRoutePorts(cfg.RecordRoutePorts, cfg.RecordRouteHost, cfg.served())
	if err != nil {
		return nil, fmt.Errorf("while checking the record-route ports: %w", err)
	}
	if len(ignored) > 0 {
		// Not refused: the operator reads --transports only as its extra args give
		// it (and one of an earlier version handed over UDP's and TCP's alike), and a
		// replica that stopped here would stall the rollout.
		log.Info("warning: ignoring record-route ports (--record-route-ports) of transports this replica does not serve",
			"ignored", ignored, "served", cfg.served())
	}
	cfg.RecordRoutePorts = ports
	if subscriptionsOnPodAddress(cfg) {
		// Not refused: where every phone reaches the pods, subscriptions work
		// until a restart, and a replica that stopped here would stall the rollout.
		log.Info(subscriptionsOnPodAddressWarning, "recordRoute", cfg.AdvertiseHost, "routedMethods", cfg.RoutedMethods)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("while creating the Kubernetes client: %w", err)
	}
	kc, err := client.New(rc, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, fmt.Errorf("while creating the Kubernetes client: %w", err)
	}
	r := &Replica{cfg: cfg, log: log, SIPReady: make(chan struct{}), restoreReader: kc,
		nonces: digest.NewReplicaNonceSigner(placeholderKey(), cfg.NonceLifetime),
		counts: digest.NewNonceCounts(digest.DefaultNonceCountsCapacity, cfg.NonceLifetime)}
	changes := status.NewChanges()
	r.table = location.New(0, changes.Mark)
	// A credential the operator withdraws takes its bindings with it; the nonce key
	// it publishes goes to the signer.
	r.dir = directory.NewPublished(directory.PublishedConfig{
		Clientset:           cs,
		Namespace:           cfg.Namespace,
		OnCredentialRemoved: func(aor string) { r.table.Remove(aor) },
		OnNonceKey:          r.useNonceKey,
		Log:                 log.WithName("directory"),
	})
	if r.exts, err = directory.NewExtensions(rc, log.WithName("extensions")); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	r.m = newMetrics(reg, r.table, r.dir, changes.Len)
	// Listen now, so that a caller knows the ports before Run (":0" in tests) and
	// the status writer the route other replicas relay our outbound flows' requests
	// through.
	if err := r.listen(); err != nil {
		return nil, err
	}
	err = r.listenTLS()
	if err == nil {
		err = r.listenWS()
	}
	if err != nil {
		r.closeListeners()
		return nil, err
	}
	r.addrs = r.self()
	r.writer = status.NewWriter(status.Config{
		Client:    kc,
		Replica:   cfg.Name,
		FlowRoute: r.addrs.FlowRoute(),
		Lease:     cfg.StatusLease,
		Interval:  cfg.StatusInterval,
		Writers:   cfg.StatusWriters,
		Table:     r.table,
		Changes:   changes,
		Resolve:   r.dir.ExtensionOf,
		Observer:  r.m,
		Log:       log.WithName("status"),
	})
	// One guard for REGISTER and the proxy's callers: a guess counts on either path.
	r.guessing = &guard.Guard{BySource: throttle.New(cfg.BySource), BySourceAOR: throttle.New(cfg.BySourceAOR),
		ByAOR: throttle.New(cfg.ByAOR), Bindings: r.table}
	r.registers = register.New(register.Config{
		Directory: r.dir,
		Table:     r.table,
		Nonces:    r.nonces,
		Counts:    r.counts,
		Guard:     r.guessing,
		Observer:  r.m,
		Log:       log.WithName("sip"),
	})
	if err := r.startHTTP(reg); err != nil {
		r.closeListeners()
		return nil, err
	}
	r.registerConnectionMetrics(reg)
	return r, nil
}

// Run serves until ctx ends, then stops taking requests and flushes status.
func (r *Replica) Run(ctx context.Context) error {
	if err := r.dir.Start(ctx); err != nil {
		return err
	}
	if err := r.exts.Start(ctx); err != nil {
		return err
	}
	if err := r.waitForNonceKey(ctx); err != nil {
		return err
	}
	n, err := r.writer.Restore(ctx, r.restoreReader)
	if err != nil {
		return err
	}
	r.log.Info("restored bindings from Extension status", "bindings", n)

	// sipgo's default logger is global: the first replica of a process sets it
	// (tests run several replicas in one process).
	setSipgoLogger.Do(func() { sip.SetDefaultLogger(sipgoLogger(r.log.WithName("sipgo"))) })
	// The proxy's client transactions take their responses in the order they
	// arrived (package clienttx); sipgo's transaction layer, which does not know
	// them, reports those responses to it as unhandled. Requests to a device whose
	// TLS connection is gone open a new one to its Contact, verified against the
	// system's roots, TLS 1.2 or newer.
	txs := clienttx.New(r.log.WithName("clienttx"))
	// Its parser reads a Via sent-by with whitespace as the UDP fast path does
	// (sipparse.HeadersParsers).
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("registrar-operator"),
		sipgo.WithUserAgentParser(sipparse.NewSipgoParser()),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(txs.Unhandled)),
		sipgo.WithUserAgenTLSConfig(&tls.Config{MinVersion: tlsserve.MinVersion}))
	if err != nil {
		return fmt.Errorf("while creating the SIP user agent: %w", err)
	}
	txs.Serve(ua.TransportLayer())
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipgoLogger(r.log.WithName("sipgo"))))
	if err != nil {
		return fmt.Errorf("while creating the SIP server: %w", err)
	}
	srv.OnRegister(r.registers.OnRegister)
	if err := r.startProxy(ua, srv, txs); err != nil {
		return err
	}
	r.watchMovedBindings()

	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan struct{})
	go func() { r.writer.Run(writerCtx); close(writerDone) }()

	g, gctx := errgroup.WithContext(ctx)
	var front *udpfront.Front
	if r.udp != nil {
		front = r.serveUDP(g, srv)
	}
	// sipgo closes a stream at the first message it cannot parse; streamserve
	// answers those and keeps the connection.
	if r.tcp != nil {
		l := streamserve.New(r.tcp, "TCP", r.log.WithName("TCP"))
		g.Go(func() error { return ignoreClosed(srv.ServeTCP(l)) })
	}
	if r.tls != nil {
		l := streamserve.New(r.tls, "TLS", r.log.WithName("TLS"))
		g.Go(func() error { return ignoreClosed(srv.ServeTLS(l)) })
	}
	r.serveWS(g, srv)
	g.Go(func() error { r.expireLoop(gctx); return nil })
	if r.cfg.AdaptiveProcs {
		// The UDP front end has fixed its readers at the default's Ps (New); it
		// reads with as many of them as there are Ps now.
		var sig procscale.Signals
		if front != nil {
			sig.Waits, sig.Changed = front.Waits, front.SetActiveReaders
		}
		g.Go(func() error {
			procscale.Run(gctx, procscale.Config{}, sig, r.log.WithName("procs"))
			return nil
		})
	}
	r.ready.Store(true)
	close(r.SIPReady)
	r.log.Info("serving SIP", "address", r.cfg.SIPAddress, "transports", r.cfg.Transports,
		"tlsAddress", r.TLSAddress(), "replica", r.cfg.Name)

	<-gctx.Done()
	r.ready.Store(false)
	// Closing our listeners ends ServeUDP, ServeTCP and ServeTLS; sipgo's Close does not.
	r.closeListeners()
	_ = srv.Close()
	_ = ua.Close()
	err = g.Wait()
	// The writer flushes what is pending before it returns.
	stopWriter()
	<-writerDone
	return err
}

// startProxy routes requests of the routed methods (Config.RoutedMethods) to registered extensions
// (package proxy), installed after REGISTER's handler; its ACK handler also drops
// the stray ACKs the REGISTER flow may bring. It sends in client transactions of
// txs.
func (r *Replica) startProxy(ua *sipgo.UserAgent, srv *sipgo.Server, txs *clienttx.Layer) error {
	sipClient, err := sipgo.NewClient(ua, sipgo.WithClientLogger(sipgoLogger(r.log.WithName("sipgo"))))
	if err != nil {
		return fmt.Errorf("while creating the SIP client: %w", err)
	}
	r.proxy = proxy.New(proxy.Config{
		Client:            sipClient,
		Transactions:      txs,
		Directory:         r.dir,
		Targets:           &proxy.Targets{Directory: r.dir, Table: r.table, Extensions: r.exts, Replica: r.cfg.Name},
		Self:              r.addrs,
		Nonces:            r.nonces,
		Counts:            r.counts,
		Guard:             r.guessing,
		RecordRoute:       !r.cfg.DisableRecordRoute,
		RequireCallerAuth: r.cfg.RequireCallerAuth,
		RoutedMethods:     r.cfg.RoutedMethods,
		TimerC:            r.cfg.TimerC,
		SerialForkTimeout: r.cfg.SerialForkTimeout,
		Observer:          r.m,
		Log:               r.log.WithName("proxy"),
	})
	r.proxy.Register(srv)
	return nil
}

// self is how the proxy names this replica: its addresses and ports, TLS included,
// the fleet's address for Record-Route, and the domains it serves.
func (r *Replica) self() *proxy.Self {
	serves := func(host string) bool { _, ok := r.dir.Domain(host); return ok }
	tlsPort := 0
	if r.tls != nil {
		tlsPort = r.tls.Addr().(*net.TCPAddr).Port
	}
	s := proxy.NewSelf(r.udp, r.tcp, proxy.StreamPorts{TLS: tlsPort, WS: port(r.ws), WSS: port(r.wss)},
		r.cfg.AdvertiseHost, serves)
	s.RecordRouteHost, s.RecordRoutePorts = r.cfg.RecordRouteHost, r.cfg.RecordRoutePorts
	return s
}

// served lists the transports cfg serves: udp and tcp as Transports says, tls,
// ws and wss where they have an address.
func (cfg Config) served() []string {
	served := append([]string(nil), cfg.Transports...)
	for transport, address := range map[string]string{"tls": cfg.TLS.Address, "ws": cfg.WS.Address, "wss": cfg.WS.SecureAddress} {
		if address != "" {
			served = append(served, transport)
		}
	}
	return served
}

// Addresses returns where SIP listens, per transport.
func (r *Replica) Addresses() (udp, tcp string) {
	if r.udp != nil {
		udp = r.udp.LocalAddr().String()
	}
	if r.tcp != nil {
		tcp = r.tcp.Addr().String()
	}
	return udp, tcp
}

// closeListeners closes what listen and listenTLS opened.
func (r *Replica) closeListeners() {
	if r.udp != nil {
		_ = r.udp.Close()
	}
	if r.tcp != nil {
		_ = r.tcp.Close()
	}
	if r.tls != nil {
		_ = r.tls.Close()
	}
	r.closeWS()
}

// Table exposes the location table to tests and benchmarks.
func (r *Replica) Table() *location.Table { return r.table }

func (r *Replica) listen() error {
	// A port the kernel picks (":0") is free for UDP, not always for TCP: another
	// program's TCP socket may hold it. Then both are picked again.
	_, port, _ := net.SplitHostPort(r.cfg.SIPAddress)
	tries := 1
	if port == "0" {
		tries = 10
	}
	var err error
	for range tries {
		if err = r.listenOnce(); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
		if r.udp != nil {
			_ = r.udp.Close()
			r.udp = nil
		}
	}
	return err
}

func (r *Replica) listenOnce() error {
	for _, t := range r.cfg.Transports {
		switch t {
		case "udp":
			pc, err := net.ListenPacket("udp", r.cfg.SIPAddress)
			if err != nil {
				return fmt.Errorf("while listening for SIP over UDP on %s: %w", r.cfg.SIPAddress, err)
			}
			r.udp = pc
		case "tcp":
			addr := r.cfg.SIPAddress
			if r.udp != nil {
				// Same port for both when the UDP one was chosen by the kernel (":0").
				addr = r.udp.LocalAddr().String()
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("while listening for SIP over TCP on %s: %w", addr, err)
			}
			r.tcp = netguard.New(l, r.cfg.TCPGuard)
		default:
			return fmt.Errorf("unknown SIP transport %q: use udp or tcp", t)
		}
	}
	return nil
}

// expireLoop drops bindings at their expiry, so status follows within a second.
func (r *Replica) expireLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.table.ExpireDue(now)
		}
	}
}

func (r *Replica) startHTTP(reg *prometheus.Registry) error {
	serve := func(addr string, mux *http.ServeMux) error {
		if addr == "" || addr == "0" {
			return nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("while listening on %s: %w", addr, err)
		}
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = s.Serve(l) }()
		return nil
	}
	metrics := http.NewServeMux()
	metrics.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if err := serve(r.cfg.MetricsAddress, metrics); err != nil {
		return err
	}
	probes := http.NewServeMux()
	probes.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	probes.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !r.ready.Load() {
			http.Error(w, "not serving SIP yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	return serve(r.cfg.ProbeAddress, probes)
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Knows reports whether this replica has the credential of an AOR: a test waits on
// it instead of sleeping through the watch delay.
func (r *Replica) Knows(aor string) bool {
	_, ok := r.dir.ByAOR(aor)
	return ok
}

// Routes returns how many devices a call to user@domain reaches from this replica
// (its own bindings and those other replicas wrote into status): a test waits on it
// instead of sleeping through the watch delay.
func (r *Replica) Routes(domain, user string) int {
	if r.proxy == nil {
		return 0
	}
	_, ts := r.proxy.Targets().Find(domain, user, time.Now())
	return len(ts)
}
