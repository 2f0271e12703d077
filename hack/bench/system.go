package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
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
	Pprof          bool     // run the registrar as this program's registrar-child, with pprof
	SkipBuild      bool
	SIPTransports  string
	RegistrarOnTop bool // start the registrar before the fixtures (scale: it watches them arrive)
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
	s.operator, err = startChild("operator", filepath.Join(s.o.Out, "operator.log"), nil, filepath.Join(s.o.BinDir, "operator"), args...)
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
	var err error
	s.registrar, err = startChild("registrar", s.regLog, s.o.RegistrarEnv, bin, args...)
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

// readyTracker watches Extensions and Domains and records when each first became Ready.
type readyTracker struct {
	mu      sync.Mutex
	ext     map[string]time.Time
	domains map[string]time.Time
	changed chan struct{}
}

func (s *system) trackReady(ctx context.Context) (*readyTracker, error) {
	t := &readyTracker{ext: map[string]time.Time{}, domains: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	c, err := cache.New(s.env.Config, cache.Options{
		Scheme: scheme.New(), DefaultNamespaces: map[string]cache.Config{benchNS: {}},
		DefaultTransform: cache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, err
	}
	record := func(m map[string]time.Time, name string, conds []metav1.Condition) {
		for _, cd := range conds {
			if cd.Type == sipv1.ConditionReady && cd.Status == metav1.ConditionTrue {
				now := time.Now()
				t.mu.Lock()
				if _, seen := m[name]; !seen {
					m[name] = now
				}
				t.mu.Unlock()
				select {
				case t.changed <- struct{}{}:
				default:
				}
			}
		}
	}
	handler := func(m map[string]time.Time, conds func(o any) (string, []metav1.Condition)) toolscache.ResourceEventHandlerFuncs {
		return toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { n, c := conds(o); record(m, n, c) },
			UpdateFunc: func(_, o any) { n, c := conds(o); record(m, n, c) },
		}
	}
	ei, err := c.GetInformer(ctx, &sipv1.Extension{})
	if err != nil {
		return nil, err
	}
	if _, err := ei.AddEventHandler(handler(t.ext, func(o any) (string, []metav1.Condition) {
		e := o.(*sipv1.Extension)
		return e.Name, e.Status.Conditions
	})); err != nil {
		return nil, err
	}
	di, err := c.GetInformer(ctx, &sipv1.Domain{})
	if err != nil {
		return nil, err
	}
	if _, err := di.AddEventHandler(handler(t.domains, func(o any) (string, []metav1.Condition) {
		d := o.(*sipv1.Domain)
		return d.Name, d.Status.Conditions
	})); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, errors.New("the Extension watch did not sync")
	}
	return t, nil
}

func (t *readyTracker) counts() (extensions, domains int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ext), len(t.domains)
}

func (t *readyTracker) readyAt(name string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.ext[name]
	return at, ok
}

// waitCounts waits until at least ext Extensions and dom Domains are Ready.
func (t *readyTracker) waitCounts(ctx context.Context, ext, dom int, timeout time.Duration, progress func(e, d int)) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		e, d := t.counts()
		if e >= ext && d >= dom {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("after %s only %d of %d Extensions and %d of %d Domains are Ready", timeout, e, ext, d, dom)
		case <-tick.C:
			if progress != nil {
				progress(e, d)
			}
		case <-t.changed:
		}
	}
}

// --- metrics --------------------------------------------------------------------

// promText is a scrape: series "name{labels}" → value.
type promText map[string]float64

func scrape(url string) (promText, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseProm(string(body)), nil
}

func parseProm(body string) promText {
	out := promText{}
	for line := range strings.SplitSeq(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] += v
	}
	return out
}

// sum adds the series of metric name whose labels contain every filter ("verb=\"POST\"").
func (p promText) sum(name string, filters ...string) float64 {
	var s float64
	for k, v := range p {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, f := range filters {
			if !strings.Contains(k, f) {
				ok = false
				break
			}
		}
		if ok {
			s += v
		}
	}
	return s
}

// apiMetrics scrapes kube-apiserver's /metrics with the admin credentials.
func (s *system) apiMetrics(ctx context.Context) (promText, error) {
	body, err := s.clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	return parseProm(string(body)), nil
}

// writeVerbs are the verbs of apiserver_request_total that change state.
var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"}

// clientWrites sums a client-go rest_client_requests_total (the operator's own count
// of the requests it sent) over the methods that write.
func clientWrites(p promText) float64 {
	var s float64
	for _, m := range writeVerbs[:4] {
		s += p.sum("rest_client_requests_total", `method="`+m+`"`)
	}
	return s
}

func apiWrites(p promText) float64 {
	var s float64
	for _, v := range writeVerbs {
		s += p.sum("apiserver_request_total", `verb="`+v+`"`)
	}
	return s
}

// apiWritesBy breaks the writes down by resource/subresource, verb and HTTP code.
func apiWritesBy(p promText) map[string]float64 {
	out := map[string]float64{}
	for k, v := range p {
		if !strings.HasPrefix(k, "apiserver_request_total{") {
			continue
		}
		labels := parseLabels(k)
		write := false
		for _, w := range writeVerbs {
			if labels["verb"] == w {
				write = true
			}
		}
		if !write {
			continue
		}
		res := labels["resource"]
		if labels["subresource"] != "" {
			res += "/" + labels["subresource"]
		}
		out[res+" "+labels["verb"]+" "+labels["code"]] += v
	}
	return out
}

func parseLabels(series string) map[string]string {
	out := map[string]string{}
	_, body, ok := strings.Cut(series, "{")
	if !ok {
		return out
	}
	body = strings.TrimSuffix(body, "}")
	for kv := range strings.SplitSeq(body, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
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
