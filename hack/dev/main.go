// Command dev runs the whole system on one machine, for `make dev`: a local control
// plane (the kube-apiserver and etcd the tests use), the operator and one registrar,
// with the samples applied. The operator and the registrar are the shipped binaries
// (cmd/operator, cmd/registrar, built beside this one), each in a process of its own
// with its shipped defaults (see shipped_args.go). Ctrl-C, a closed terminal (SIGHUP) or SIGTERM stops
// everything and leaves no process behind; killed, it takes its control plane with it
// (see parentdeath_linux.go), and its watchdog or else the next make dev removes the
// control plane's data (see rundir.go).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

const (
	registrarNS = "registrar-system"
	sampleAOR   = "1001@acme." + sipv1.DefaultDomainSuffix
	samplePass  = "change-me-1001"
)

func main() {
	execGuarded()
	runAsWatchdog()
	o := options{}
	flag.StringVar(&o.sipAddr, "sip-address", "127.0.0.1:5060", "Where the registrar serves SIP (UDP and TCP).")
	flag.StringVar(&o.tlsAddr, "sip-tls-address", "127.0.0.1:5061",
		"Where the registrar serves SIP over TLS, with a self-signed certificate made for it; empty: no TLS.")
	flag.StringVar(&o.ws.Address, "sip-ws-address", "127.0.0.1:5066", "Where the registrar serves SIP over WebSocket (ws://); empty: not.")
	flag.StringVar(&o.ws.SecureAddress, "sip-wss-address", "127.0.0.1:7443",
		"Where the registrar serves SIP over secure WebSocket (wss://), with the certificate made for TLS; empty: not.")
	origins := flag.String("ws-allowed-origins", "*",
		"Comma-separated Origins of the web pages that may connect over WebSocket; * (any page, file:// ones too) suits a machine's loopback.")
	flag.StringVar(&o.metricsAddr, "metrics-address", "127.0.0.1:9090", "Where the registrar serves /metrics.")
	flag.StringVar(&o.stateDir, "state-dir", ".dev", "Folder for the kubeconfig and logs.")
	flag.StringVar(&o.binDir, "bin-dir", "", "Folder of the shipped operator and registrar binaries (default: this program's).")
	flag.BoolVar(&o.verbose, "v", false, "Log the operator and registrar to the terminal, not only to the log file.")
	flag.Parse()
	o.ws.AllowedOrigins = strings.Split(*origins, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

type options struct {
	sipAddr, tlsAddr, metricsAddr string
	ws                            wsListeners
	stateDir, binDir              string
	verbose                       bool
}

func run(o options) error {
	// A closed terminal or a dropped SSH session (SIGHUP) stops everything as Ctrl-C does.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	operatorBin, registrarBin, err := shippedBinaries(o.binDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(o.stateDir, "system.log"))
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	var logOut io.Writer = logFile
	if o.verbose {
		logOut = io.MultiWriter(logFile, os.Stderr)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logOut)))

	step("starting the local control plane (kube-apiserver and etcd on loopback)")
	data, err := newRunDir()
	if err != nil {
		return err
	}
	defer func() {
		if err := data.remove(); err != nil {
			fmt.Fprintln(os.Stderr, "make dev:", err)
		}
	}()
	guard, err := guardControlPlane(o.stateDir)
	if err != nil {
		return err
	}
	env, err := testenv.Start(guard)
	if err != nil {
		return err
	}
	defer func() {
		step("stopping the control plane")
		_ = env.Stop()
	}()
	kubeconfig, err := writeKubeconfig(env.Environment, o.stateDir)
	if err != nil {
		return err
	}
	if err := env.EnsureNamespace(ctx, registrarNS); err != nil {
		return err
	}
	step("starting the operator (" + operatorBin + ")")
	operator, err := startShipped("operator", operatorBin, operatorArgs(kubeconfig), logOut)
	if err != nil {
		return err
	}
	var registrar *shipped
	defer func() {
		step("stopping the registrar and the operator")
		for _, s := range []*shipped{registrar, operator} {
			if err := s.stop(30 * time.Second); err != nil {
				fmt.Fprintln(os.Stderr, "make dev:", err)
			}
		}
	}()

	tls, err := devTLS(o.tlsAddr, o.ws.SecureAddress, o.sipAddr, o.stateDir)
	if err != nil {
		return err
	}
	step("starting the registrar (" + registrarBin + ") on " + o.sipAddr + tlsStep(o.tlsAddr, o.ws))
	registrar, err = startShipped("registrar", registrarBin, registrarArgs(kubeconfig, o.sipAddr, o.metricsAddr, tls, o.ws), logOut)
	if err != nil {
		return err
	}

	step("applying config/samples (Domain acme, Extension 1001 and its password)")
	if err := applySamples(ctx, env.Client, filepath.Join(testenv.Root(), "config", "samples")); err != nil {
		return err
	}
	if err := waitSamplePublished(ctx, o.metricsAddr, operator, registrar); err != nil {
		return fmt.Errorf("%w (is another SIP server on %s, %s, %s or %s? try make dev SIP_ADDRESS=127.0.0.1:5070 SIP_TLS_ADDRESS=127.0.0.1:5071 "+
			"SIP_WS_ADDRESS=127.0.0.1:5076 SIP_WSS_ADDRESS=127.0.0.1:7453; logs: %s)",
			err, o.sipAddr, o.tlsAddr, o.ws.Address, o.ws.SecureAddress, logFile.Name())
	}
	if ctx.Err() != nil {
		return nil
	}
	printWelcome(o.sipAddr, kubeconfig, o.stateDir, tlsWelcome(tls)+wsWelcome(o.ws, tls))

	select {
	case <-ctx.Done():
		fmt.Println()
		return nil
	case err := <-operator.done:
		operator.done <- err
		return fmt.Errorf("%w; see %s", operator.ended(err), logFile.Name())
	case err := <-registrar.done:
		registrar.done <- err
		return fmt.Errorf("%w; see %s", registrar.ended(err), logFile.Name())
	}
}

func step(msg string) { fmt.Println("==> " + msg) }

func writeKubeconfig(env *envtest.Environment, dir string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "developer", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("while creating the developer's credentials: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path, err := filepath.Abs(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, 0o600)
}

// applySamples creates every object of the samples kustomization in "default".
func applySamples(ctx context.Context, c client.Client, dir string) error {
	list, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "- ") || !strings.HasSuffix(line, ".yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(line, "- ")))
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&u.Object); err != nil {
			return fmt.Errorf("while reading sample %s: %w", line, err)
		}
		u.SetNamespace("default")
		if err := c.Create(ctx, u); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("while applying sample %s: %w", line, err)
		}
	}
	return sc.Err()
}

func printWelcome(sipAddr, kubeconfig, stateDir, tls string) {
	host := sipAddr[:strings.LastIndexByte(sipAddr, ':')]
	fmt.Printf(`
The registrar is up.

  SIP (UDP and TCP)   %[1]s
  kubeconfig          %[2]s
  sample AOR          %[3]s
  password            %[4]s
  logs                %[5]s/system.log

Register the sample extension with SIPp (from this folder, in another terminal):

  sipp -sf registrar/testdata/sipp/register.xml -m 1 -i %[6]s \
    -au 1001 -ap %[4]s -auth_uri acme.%[7]s \
    -key domain acme.%[7]s -key user 1001 -key expires 3600 %[1]s

or point a softphone at %[1]s with user 1001, domain acme.%[7]s and that password.
Then see its contact:

  %[8]s --kubeconfig %[2]s get extensions
  %[8]s --kubeconfig %[2]s get extension acme-1001 -o yaml
%[9]s
Ctrl-C stops everything. So does kill %[10]d (make dev's pid) from another terminal.
`, sipAddr, kubeconfig, sampleAOR, samplePass, stateDir, host, sipv1.DefaultDomainSuffix, kubectl(), tls, os.Getpid())
}

// kubectl is the kubectl make dev built beside the control plane (env KUBECTL), so
// the commands printed work on a machine without one; else the one on the PATH.
func kubectl() string {
	if p := os.Getenv("KUBECTL"); p != "" {
		return p
	}
	return "kubectl"
}
