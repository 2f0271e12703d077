package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles of registrar-child, served on --pprof-address only
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/voipbin/registrar-operator/internal/gcpace"
	"github.com/voipbin/registrar-operator/internal/memlimit"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/netguard"
	"github.com/voipbin/registrar-operator/registrar/throttle"
	"github.com/voipbin/registrar-operator/registrar/udpfront"
)

// registrarChild is cmd/registrar with net/http/pprof on a loopback port: the same
// registrar.New and Run, the same flag names and defaults for what the benchmark
// passes. It runs as a process of its own (bench --pprof starts it), so its CPU and
// memory are measured as the real binary's are.
func registrarChild(args []string) error {
	fs := flag.NewFlagSet("registrar-child", flag.ExitOnError)
	cfg := registrar.Config{
		BySource: throttle.DefaultConfig(), BySourceAOR: throttle.DefaultPairConfig(), ByAOR: throttle.DefaultConfig(),
		TCPGuard: netguard.DefaultConfig(),
	}
	var transports, kubeconfig, pprofAddr string
	fs.StringVar(&pprofAddr, "pprof-address", "127.0.0.1:6060", "Loopback address of /debug/pprof.")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "Path of the kubeconfig.")
	fs.StringVar(&cfg.Namespace, "namespace", "registrar-system", "")
	fs.StringVar(&cfg.Name, "name", "bench-registrar", "")
	fs.StringVar(&cfg.SIPAddress, "sip-address", "127.0.0.1:5060", "")
	fs.StringVar(&transports, "transports", "udp,tcp", "")
	fs.IntVar(&cfg.UDPReceiveBuffer, "udp-receive-buffer", 4<<20, "")
	// Without these the child ran with nothing shed under overload (a zero
	// UDPShedAge), unlike the binary it stands in for.
	fs.DurationVar(&cfg.UDPShedAge, "udp-shed-age", udpfront.DefaultShedAge, "")
	fs.IntVar(&cfg.UDPShedRepliesPerSource, "udp-shed-replies-per-source", udpfront.DefaultSourceRefusals, "")
	fs.IntVar(&cfg.UDPShedReplies, "udp-shed-replies", udpfront.DefaultRefusals, "")
	fs.BoolVar(&cfg.TransactionalUDPRegister, "udp-register-transactions", false, "")
	fs.BoolVar(&cfg.RequireCallerAuth, "require-caller-auth", false, "")
	fs.StringVar(&cfg.TLS.Address, "sip-tls-address", "", "")
	fs.StringVar(&cfg.TLS.CertFile, "tls-cert-file", "", "")
	fs.StringVar(&cfg.TLS.KeyFile, "tls-key-file", "", "")
	fs.StringVar(&cfg.WS.Address, "sip-ws-address", "", "")
	fs.StringVar(&cfg.WS.SecureAddress, "sip-wss-address", "", "")
	fs.IntVar(&cfg.TCPGuard.MaxConns, "tcp-max-connections", cfg.TCPGuard.MaxConns, "")
	fs.IntVar(&cfg.TCPGuard.MaxPerIP, "tcp-max-connections-per-ip", cfg.TCPGuard.MaxPerIP, "")
	fs.DurationVar(&cfg.TCPGuard.FirstMessage, "tcp-first-message-timeout", cfg.TCPGuard.FirstMessage, "")
	fs.DurationVar(&cfg.TCPGuard.Idle, "tcp-idle-timeout", cfg.TCPGuard.Idle, "")
	fs.StringVar(&cfg.MetricsAddress, "metrics-bind-address", "0", "")
	fs.StringVar(&cfg.ProbeAddress, "health-probe-bind-address", "0", "")
	fs.DurationVar(&cfg.NonceLifetime, "nonce-lifetime", digest.DefaultNonceLifetime, "")
	fs.DurationVar(&cfg.StatusLease, "status-lease", 15*time.Minute, "")
	fs.DurationVar(&cfg.StatusInterval, "status-interval", 200*time.Millisecond, "")
	fs.IntVar(&cfg.BySource.MaxFailures, "throttle-source-failures", cfg.BySource.MaxFailures, "")
	fs.IntVar(&cfg.ByAOR.MaxFailures, "throttle-aor-failures", cfg.ByAOR.MaxFailures, "")
	fs.IntVar(&cfg.BySourceAOR.MaxFailures, "throttle-source-aor-failures", cfg.BySourceAOR.MaxFailures, "")
	fs.DurationVar(&cfg.BySource.Window, "throttle-window", cfg.BySource.Window, "")
	fs.DurationVar(&cfg.BySource.BlockFor, "throttle-block", cfg.BySource.BlockFor, "")
	gcHeadroom := fs.String("gc-headroom", "64Mi", "") // the shipped default (cmd/registrar)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	_ = fs.Parse(args)
	cfg.ByAOR.Window, cfg.ByAOR.BlockFor = cfg.BySource.Window, cfg.BySource.BlockFor
	cfg.Transports = strings.Split(transports, ",")
	if host, _, err := net.SplitHostPort(pprofAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("--pprof-address %q: want a loopback host:port", pprofAddr)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("registrar")
	l, err := net.Listen("tcp", pprofAddr)
	if err != nil {
		return err
	}
	go func() { _ = (&http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}).Serve(l) }()

	if kubeconfig != "" {
		_ = os.Setenv("KUBECONFIG", kubeconfig)
	}
	rc, err := config.GetConfig()
	if err != nil {
		return err
	}
	memlimit.Apply(memlimit.DefaultRatio, log)
	ctx := ctrl.SetupSignalHandler()
	if err := gcpace.Start(ctx, *gcHeadroom, os.Getenv, log); err != nil {
		return fmt.Errorf("--gc-headroom: %w", err)
	}
	r, err := registrar.New(cfg, rc, log)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}
