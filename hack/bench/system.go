package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

const (
	registrarNS = "registrar-system"
	benchNS     = "bench"
	replicaName = "bench-registrar"
)

// sysOptions shape the system under test.
type sysOptions struct {
	Out            string
	BinDir         string
	OperatorArgs   []string
	RegistrarArgs  []string
	RegistrarEnv   []string // KEY=VALUE for the registrar process only, such as GOGC=off
	OperatorEnv    []string // KEY=VALUE for the operator process only, such as GOMEMLIMIT=270MiB
	Pprof          bool     // run the registrar as this program's registrar-child, with pprof
	SkipBuild      bool
	SIPTransports  string
	RegistrarOnTop bool // start the registrar before the fixtures (scale: it watches them arrive)
	// ServerCPUs confines the registrar to this many cores with a CFS quota, as a
	// pod's CPU limit does (cgroup.go); 0: no limit.
	ServerCPUs float64
}

// system is the control plane, the operator and one registrar, each in a process of
// its own so that its CPU and memory are its own.
type system struct {
	o          sysOptions
	env        *testenv.Env
	kubeconfig string
	client     client.Client // the benchmark's own client, not rate limited
	clientset  kubernetes.Interface
	operator   *child
	registrar  *child

	sipAddr                        string
	regLog                         string // the registrar's log file, per start
	regMetrics, regReady, regPprof string
	opMetrics                      string
}

func startSystem(ctx context.Context, o sysOptions) (*system, error) {
	s := &system{o: o}
	if !o.SkipBuild {
		if err := buildBinaries(o.BinDir); err != nil {
			return nil, err
		}
	}
	step("starting the control plane (kube-apiserver and etcd on loopback)")
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	s.env = env
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 5000, 10000
	if s.client, err = client.New(cfg, client.Options{Scheme: scheme.New()}); err != nil {
		return s, err
	}
	if s.clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		return s, err
	}
	if s.kubeconfig, err = writeKubeconfig(env.Environment, o.Out); err != nil {
		return s, err
	}
	for _, ns := range []string{registrarNS, benchNS} {
		if err := env.EnsureNamespace(ctx, ns); err != nil {
			return s, err
		}
	}
	if err := s.startOperator(); err != nil {
		return s, err
	}
	return s, nil
}

func buildBinaries(binDir string) error {
	step("building the operator and the registrar (go build ./cmd/...)")
	for _, name := range []string{"operator", "registrar"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(mustAbs(binDir), name), "./cmd/"+name)
		cmd.Dir = testenv.Root()
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("while building %s: %w", name, err)
		}
	}
	return nil
}

func (s *system) startOperator() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.opMetrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	args := []string{
		"--kubeconfig", s.kubeconfig,
		"--registrar-namespace", registrarNS,
		"--manage-registrar=true", "--registrar-replicas=0",
		"--health-probe-bind-address=0",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port), "--metrics-secure=false",
	}
	args = append(args, s.o.OperatorArgs...)
	step("starting the operator: bin/operator " + strings.Join(args[2:], " "))
	s.operator, err = startChild("operator", filepath.Join(s.o.Out, "operator.log"), s.o.OperatorEnv, filepath.Join(s.o.BinDir, "operator"), args...)
	return err
}

// startRegistrar runs the registrar: bin/registrar (cmd/registrar), or with Pprof
// this program's registrar-child (the same registrar.New and Run, plus net/http/pprof).
func (s *system) startRegistrar(ctx context.Context) error {
	ports := make([]int, 4)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	s.sipAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	s.regMetrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[1])
	s.regReady = fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2])
	args := []string{
		"--kubeconfig", s.kubeconfig,
		"--namespace", registrarNS, "--name", replicaName,
		"--sip-address", s.sipAddr, "--transports", s.o.SIPTransports,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[2]),
		// One source address sends the whole load: no throttling (it would only
		// matter after authentication failures, which a clean run has none of).
		"--throttle-source-failures=0", "--throttle-source-aor-failures=0", "--throttle-aor-failures=0",
	}
	bin := filepath.Join(s.o.BinDir, "registrar")
	if s.o.Pprof {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		bin = self
		s.regPprof = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[3])
		args = append([]string{"registrar-child", fmt.Sprintf("--pprof-address=127.0.0.1:%d", ports[3])}, args...)
	}
	args = append(args, s.o.RegistrarArgs...)
	step(fmt.Sprintf("starting the registrar on %s (%s)", s.sipAddr, filepath.Base(bin)))
	if s.regLog == "" {
		s.regLog = filepath.Join(s.o.Out, "registrar.log")
	}
	cg, err := newCPUCgroup("registrar", s.o.ServerCPUs)
	if err != nil {
		return err
	}
	s.registrar, err = startConfined(cg, "registrar", s.regLog, s.o.RegistrarEnv, bin, args...)
	if err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "the registrar to be ready", func() error {
		if s.registrar.exited() {
			return fmt.Errorf("the registrar exited: %v\n%s", s.registrar.err, tail(s.regLog, 15))
		}
		resp, err := http.Get(s.regReady)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
}

// controlPlanePIDs are kube-apiserver and etcd, which envtest started as our children.
func (s *system) controlPlanePIDs() []int {
	pids := childrenNamed(os.Getpid(), "kube-apiserver")
	return append(pids, childrenNamed(os.Getpid(), "etcd")...)
}

func (s *system) stop() {
	if s == nil {
		return
	}
	s.freeze(false)
	s.registrar.stop()
	s.operator.stop()
	if s.env != nil {
		_ = s.env.Stop()
	}
}

// --- fixtures -------------------------------------------------------------------

// customerID names domain i; the SIP domain is {customerID}.{suffix}.
func customerID(i int) string { return fmt.Sprintf("b%05d", i) }

func domainName(i int) string { return published.DomainName(customerID(i), sipv1.DefaultDomainSuffix) }

// makeUsers spreads n extensions round-robin over domains; extension numbers are
// unique over all domains (1000, 1001, ...), prefixed to keep sets apart.
func makeUsers(n, domains int, prefix string) []user {
	us := make([]user, n)
	for i := range us {
		d := i % domains
		ext := fmt.Sprintf("%s%d", prefix, 1000+i)
		us[i] = user{Name: ext, Domain: domainName(d), Object: customerID(d) + "-" + ext}
	}
	return us
}

// parallel runs f(i) for i in [0, n) on workers goroutines; the first error stops it.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func (s *system) createDomains(ctx context.Context, n, workers int) error {
	return parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		d := &sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: customerID(i)}, Spec: sipv1.DomainSpec{CustomerID: customerID(i)}}
		return client.IgnoreAlreadyExists(s.client.Create(ctx, d))
	})
}

// createExtension creates one Extension. With a password it refers to the Secret
// createPasswordSecret makes (created first when missing); otherwise the operator
// generates one.
func (s *system) createExtension(ctx context.Context, u user, domain int) error {
	e := &sipv1.Extension{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: u.Object},
		Spec:       sipv1.ExtensionSpec{DomainRef: customerID(domain), Extension: u.Name},
	}
	if u.Password != "" {
		if err := s.createPasswordSecret(ctx, u); err != nil {
			return err
		}
		e.Spec.PasswordSecretRef = &sipv1.SecretKeyReference{Name: passwordSecret(u), Key: "password"}
	}
	return client.IgnoreAlreadyExists(s.client.Create(ctx, e))
}

func passwordSecret(u user) string { return u.Object + "-password" }

func (s *system) createPasswordSecret(ctx context.Context, u user) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: passwordSecret(u)},
		StringData: map[string]string{"password": u.Password}}
	return client.IgnoreAlreadyExists(s.client.Create(ctx, sec))
}

// readPasswords fills in the passwords the operator generated.
func (s *system) readPasswords(ctx context.Context, us []user) error {
	list, err := s.clientset.CoreV1().Secrets(benchNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, sec := range list.Items {
		byName[sec.Name] = string(sec.Data[controllers.GeneratedPasswordKey])
	}
	for i := range us {
		if us[i].Password != "" {
			continue
		}
		p := byName[controllers.GeneratedPasswordSecretName(us[i].Object)]
		if p == "" {
			return fmt.Errorf("no generated password for Extension %s", us[i].Object)
		}
		us[i].Password = p
	}
	return nil
}

// waitCredentials waits until the registrar serves at least n credentials.
func (s *system) waitCredentials(ctx context.Context, n int, timeout time.Duration) error {
	return waitFor(ctx, timeout, fmt.Sprintf("the registrar to know %d credentials", n), func() error {
		p, err := scrape(s.regMetrics)
		if err != nil {
			return err
		}
		if got := int(p.sum("registrar_credentials")); got < n {
			return fmt.Errorf("it knows %d", got)
		}
		return nil
	})
}

// waitFor polls check every 100 ms until it returns nil.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("while waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func writeKubeconfig(env *envtest.Environment, dir string) (string, error) {
	u, err := env.AddUser(envtest.User{Name: "bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("while creating the benchmark's credentials: %w", err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := mustAbs(filepath.Join(dir, "kubeconfig"))
	return path, os.WriteFile(path, data, 0o600)
}

func step(msg string) { fmt.Printf("==> %s %s\n", time.Now().Format("15:04:05"), msg) }
