// Command registrar is one SIP registrar replica: it answers REGISTER for the domains
// and extensions the operator published, and writes bindings into Extension status.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/voipbin/registrar-operator/internal/gcpace"
	"github.com/voipbin/registrar-operator/internal/memlimit"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/netguard"
	"github.com/voipbin/registrar-operator/registrar/proxy"
	"github.com/voipbin/registrar-operator/registrar/status"
	"github.com/voipbin/registrar-operator/registrar/throttle"
	"github.com/voipbin/registrar-operator/registrar/udpfront"
)

func main() {
	host, _ := os.Hostname()
	cfg := registrar.Config{
		BySource: throttle.DefaultConfig(), BySourceAOR: throttle.DefaultPairConfig(), ByAOR: throttle.DefaultConfig(),
		TCPGuard: netguard.DefaultConfig(),
	}
	var transports string
	flag.StringVar(&cfg.Namespace, "namespace", envOr("POD_NAMESPACE", "registrar-system"),
		"Namespace where the operator publishes domains, credentials and the nonce key.")
	flag.StringVar(&cfg.Name, "name", envOr("POD_NAME", host), "Name of this replica in Extension status (the pod name).")
	flag.StringVar(&cfg.SIPAddress, "sip-address", ":5060", "host:port to serve SIP on.")
	flag.StringVar(&transports, "transports", "udp,tcp", "SIP transports to serve, separated by commas: udp, tcp.")
	flag.StringVar(&cfg.TLS.Address, "sip-tls-address", ":5061",
		"host:port to serve SIP over TLS on, when --tls-cert-file and --tls-key-file are set; empty: no TLS.")
	flag.StringVar(&cfg.TLS.CertFile, "tls-cert-file", "",
		"PEM certificate chain for SIP over TLS (tls.crt of a kubernetes.io/tls Secret); a changed file is served to new connections without a restart.")
	flag.StringVar(&cfg.TLS.KeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file (tls.key).")
	flag.StringVar(&cfg.WS.Address, "sip-ws-address", "", "host:port to serve SIP over WebSocket (ws://, RFC 7118) on; empty: none.")
	flag.StringVar(&cfg.WS.SecureAddress, "sip-wss-address", "",
		"host:port to serve SIP over secure WebSocket (wss://) on, with the certificate of --tls-cert-file; empty: none.")
	allowedOrigins := flag.String("ws-allowed-origins", "",
		"Comma-separated Origins (https://phone.example.com) of web pages whose scripts may connect over WebSocket; * allows any. "+
			"Pages on the host connected to, and clients that send no Origin, are always allowed.")
	flag.StringVar(&cfg.AdvertiseHost, "advertise-host", envOr("POD_IP", ""),
		"Address other hops reach this replica at, written in Via (and in Record-Route unless --record-route-host is set); "+
			"empty: the listener's or the machine's address.")
	flag.StringVar(&cfg.RecordRouteHost, "record-route-host", "",
		"Address phones reach the registrar fleet at: the registrar Service's LoadBalancer IP or its DNS name. "+
			"It is written in Record-Route instead of --advertise-host, because phones send BYE and re-INVITE where Record-Route says, "+
			"and one outside the cluster cannot reach a pod IP (its calls could not be hung up); whichever replica the Service hands such a request to routes it on. "+
			"The ports in Record-Route are the listening ports (--sip-address and the others), unless --record-route-ports gives others. "+
			"Empty: --advertise-host, enough when every phone reaches the pods directly.")
	flag.Var(&cfg.RecordRoutePorts, "record-route-ports",
		"Ports phones reach --record-route-host at, where they are not the listening ports (a NodePort Service's node ports), "+
			"as transport=port pairs separated by commas, such as udp=30060,tcp=30060,tls=30061,ws=30080,wss=30443: "+
			"written in Record-Route with --record-route-host, and a Route naming that host with one of them is taken as this replica's. "+
			"Needs --record-route-host; a transport left out keeps its listening port, and the port of one not served is ignored with a warning.")
	recordRoute := flag.Bool("record-route", true,
		"Keep this replica on the path of the dialogs it routes (Record-Route in INVITE, SUBSCRIBE, REFER and in-dialog NOTIFY), "+
			"so BYE, re-INVITE, NOTIFY and re-SUBSCRIBE traverse it.")
	flag.BoolVar(&cfg.RequireCallerAuth, "require-caller-auth", false,
		"Challenge (407) requests to an extension (any of --routed-methods) whose From is a user of a served domain, "+
			"with the extension's REGISTER credentials.")
	cfg.RoutedMethods = proxy.DefaultRoutedMethods
	flag.Func("routed-methods",
		"Methods routed to an extension's devices out of a dialog, comma-separated, or * for every method (default "+
			strings.Join(proxy.DefaultRoutedMethods, ",")+"). Anyone who can reach the Service may send them: "+
			"an unsolicited NOTIFY (check-sync) or REFER is an attack on many desk phones, so add SUBSCRIBE, NOTIFY, REFER or PUBLISH only on purpose. "+
			"Requests in a dialog through the registrar are relayed whatever their method.",
		func(v string) (err error) { cfg.RoutedMethods, err = proxy.ParseRoutedMethods(v); return err })
	flag.BoolVar(&cfg.TransactionalUDPRegister, "udp-register-transactions", false,
		"Answer REGISTER over UDP through full SIP server transactions instead of the stateless fast path (slower; for comparison).")
	flag.DurationVar(&cfg.TimerC, "timer-c", proxy.DefaultTimerC,
		"How long a call may ring unanswered before the registrar CANCELs it and answers 408 (RFC 3261 Timer C; more than 3m).")
	serialFork := flag.Duration("serial-fork-timeout", proxy.DefaultSerialForkTimeout,
		"How long the devices registered with the highest q ring unanswered before the registrar CANCELs them and calls those of the next lower q "+
			"(RFC 3261 §16.6); devices registered without q count as q=1.0, and the last devices tried ring until --timer-c; 0: no limit.")
	flag.IntVar(&cfg.UDPReceiveBuffer, "udp-receive-buffer", 4<<20,
		"UDP socket receive buffer in bytes, to absorb bursts (Linux caps it at net.core.rmem_max); 0 keeps the system default.")
	flag.DurationVar(&cfg.UDPShedAge, "udp-shed-age", udpfront.DefaultShedAge,
		"Under overload, a UDP REGISTER without credentials is answered 503 with Retry-After instead of a challenge, so that those with credentials "+
			"keep completing, once the REGISTERs read have each waited longer than this in the receive queue for this long, or at once when it waited "+
			"five times this or was taken off a receive buffer over half full; a stall's backlog is challenged late, not refused; 0: never.")
	flag.IntVar(&cfg.UDPShedRepliesPerSource, "udp-shed-replies-per-source", udpfront.DefaultSourceRefusals,
		"Of the UDP REGISTERs shed under overload, at most this many a second from one source IP address are answered 503; the others are dropped unanswered "+
			"(their clients retransmit), which costs a flood from a few addresses far less; 0: no bound.")
	flag.IntVar(&cfg.UDPShedReplies, "udp-shed-replies", udpfront.DefaultRefusals,
		"Of the UDP REGISTERs shed under overload, at most this many a second from all sources together are answered 503; "+
			"the others are dropped unanswered; 0: no bound.")
	flag.StringVar(&cfg.MetricsAddress, "metrics-bind-address", ":9090", "Address of /metrics; 0 disables.")
	flag.StringVar(&cfg.ProbeAddress, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz; 0 disables.")
	flag.DurationVar(&cfg.NonceLifetime, "nonce-lifetime", digest.DefaultNonceLifetime, "How long a digest nonce stays valid.")
	flag.DurationVar(&cfg.StatusLease, "status-lease", 15*time.Minute,
		"How long a binding may stay in status after its registrar died; longer means fewer status writes.")
	flag.DurationVar(&cfg.StatusInterval, "status-interval", 200*time.Millisecond, "Window in which binding changes are coalesced into one status write.")
	flag.IntVar(&cfg.StatusWriters, "status-writers", status.DefaultWriters,
		"Status writes in flight at most: how fast a burst of new bindings (every phone back after an outage) reaches Extension status. "+
			"The API server's CPU bounds it; more only helps an API server with cores to spare.")
	flag.IntVar(&cfg.BySource.MaxFailures, "throttle-source-failures", cfg.BySource.MaxFailures,
		"Authentication failures from one IP address within the window that block it; 0 disables.")
	flag.DurationVar(&cfg.BySource.Window, "throttle-window", cfg.BySource.Window, "Window in which failures are counted.")
	flag.DurationVar(&cfg.BySource.BlockFor, "throttle-block", cfg.BySource.BlockFor, "How long a throttled source or extension stays blocked.")
	flag.IntVar(&cfg.ByAOR.MaxFailures, "throttle-aor-failures", cfg.ByAOR.MaxFailures,
		"Authentication failures against one extension within the window after which the addresses that failed at it are refused "+
			"until the block lifts (every address, if --throttle-source-aor-failures is 0); 0 disables.")
	flag.IntVar(&cfg.BySourceAOR.MaxFailures, "throttle-source-aor-failures", cfg.BySourceAOR.MaxFailures,
		"Authentication failures from one IP address against one extension within --throttle-source-aor-window that block that pair; 0 disables.")
	flag.DurationVar(&cfg.BySourceAOR.Window, "throttle-source-aor-window", cfg.BySourceAOR.Window,
		"How long an address's failures at an extension are counted, and how long the pair's block lasts.")
	flag.IntVar(&cfg.TCPGuard.MaxConns, "tcp-max-connections", cfg.TCPGuard.MaxConns,
		"Open SIP TCP connections at most (about 45 KiB each); when full, the oldest that has not yet sent a message is closed; 0: no limit. "+
			"The TLS, WS and WSS listeners each have as many.")
	flag.IntVar(&cfg.TCPGuard.MaxPerIP, "tcp-max-connections-per-ip", cfg.TCPGuard.MaxPerIP,
		"Open SIP TCP connections at most from one IP address (an IPv6 /64); 0: no limit.")
	flag.DurationVar(&cfg.TCPGuard.FirstMessage, "tcp-first-message-timeout", cfg.TCPGuard.FirstMessage,
		"A new TCP connection that has not sent the headers of a SIP message within it is closed; 0: never. "+
			"It bounds TLS handshakes and WebSocket upgrades too, and starts again once a WebSocket is upgraded.")
	flag.DurationVar(&cfg.TCPGuard.Idle, "tcp-idle-timeout", cfg.TCPGuard.Idle,
		"A TCP connection that receives nothing (keep-alives count) for this long is closed; 0: never.")
	adaptiveProcs := flag.Bool("adaptive-procs", true,
		"Run on one P (GOMAXPROCS=1) while one core keeps up with the load, and on the CPU limit's worth once it does not: "+
			"a quarter less CPU per REGISTER at moderate rates, all the cores under load. Ignored when GOMAXPROCS is set.")
	memoryRatio := memlimit.Ratio(memlimit.DefaultRatio)
	flag.Var(&memoryRatio, "memory-limit-ratio",
		"Set the Go soft memory limit to this fraction of the container's memory limit (cgroup), unless GOMEMLIMIT is set; 0 disables.")
	// 64Mi: at 3,000 registrations/s a 30 MB live heap was collected more than once
	// a second with GOGC's 100%, and the collector's CPU was about an eighth of the
	// CPU per registration in process (GOGC=400: 16.3 against 18.5 µs); a heap of
	// 100,000 Extensions keeps GOGC's proportional growth.
	gcHeadroom := flag.String("gc-headroom", "64Mi",
		"Heap growth the garbage collector allows at least between collections (a quantity such as 128Mi; 0: off), unless GOGC is set: "+
			"fewer collections under load, less CPU per REGISTER and a shorter response-time tail, at the cost of that much memory.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if err := noArguments(flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "registrar:", err)
		os.Exit(2)
	}
	cfg.ByAOR.Window, cfg.ByAOR.BlockFor = cfg.BySource.Window, cfg.BySource.BlockFor
	cfg.BySourceAOR.BlockFor = cfg.BySourceAOR.Window
	cfg.Transports = transportList(transports)
	cfg.DisableRecordRoute = !*recordRoute
	cfg.AdaptiveProcs = *adaptiveProcs && os.Getenv("GOMAXPROCS") == ""
	cfg.WS.AllowedOrigins = splitList(*allowedOrigins)
	cfg.SerialForkTimeout = *serialFork
	if cfg.SerialForkTimeout <= 0 {
		cfg.SerialForkTimeout = -1 // the flag's 0 is "no limit", the Config's is the default
	}
	if cfg.TLS.CertFile == "" && cfg.TLS.KeyFile == "" {
		cfg.TLS.Address = "" // TLS is off until a certificate is configured
	}

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("registrar")
	memlimit.Apply(float64(memoryRatio), log)
	ctx := ctrl.SetupSignalHandler()
	if err := gcpace.Start(ctx, *gcHeadroom, os.Getenv, log); err != nil {
		log.Error(err, "--gc-headroom")
		os.Exit(2)
	}
	r, err := registrar.New(cfg, ctrl.GetConfigOrDie(), log)
	if err != nil {
		log.Error(err, "while starting the registrar")
		os.Exit(1)
	}
	if err := r.Run(ctx); err != nil {
		log.Error(err, "while running the registrar")
		os.Exit(1)
	}
}

// transportList reads --transports: names separated by commas, with or without
// spaces ("udp, tcp"), in any case, empty items dropped.
func transportList(s string) []string {
	items := splitList(s)
	for i := range items {
		items[i] = strings.ToLower(items[i])
	}
	return items
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// noArguments refuses words left after the flags. Go's flag package stops at the
// first word that is not a flag, so "--record-route false --transports=udp" sets
// --record-route and leaves "false" and every flag after it unread: the registrar
// would run with --transports' default while the operator, reading the same args,
// hands it the node ports of UDP alone.
func noArguments(args []string) error {
	if len(args) == 0 {
		return nil
	}
	return fmt.Errorf("unexpected argument %q, and the flags after it were not read: "+
		"give each flag as --name=value (a boolean as --name=false)", args[0])
}
