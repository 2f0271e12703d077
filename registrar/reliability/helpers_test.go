package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

var errStill = errors.New("not yet")

func eventually(t testing.TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	if err := testenv.Eventually(timeout, check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns, err := env.CreateNamespace(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// tenant is one customer: a namespace, its Domain and its Extensions, each with a
// password it was given in a Secret of the namespace.
type tenant struct {
	ns, domain string
	exts       []*sipv1.Extension
	passwords  map[string]string // extension number → password
}

func (tn *tenant) aor(user string) string { return user + "@" + tn.domain }

// newTenant creates a Domain and n Extensions numbered from first, each allowed
// maxContacts devices, and waits until they are Ready.
func newTenant(t testing.TB, n, first int, maxContacts int32) *tenant {
	t.Helper()
	ctx := context.Background()
	ns := newNamespace(t, "sip")
	tn := &tenant{ns: ns, domain: ns + "." + suffix, passwords: map[string]string{}}
	d := &sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "d"}, Spec: sipv1.DomainSpec{CustomerID: ns}}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, Data: map[string][]byte{}}
	for i := range n {
		user := strconv.Itoa(first + i)
		tn.passwords[user] = fmt.Sprintf("pw-%s-%s", user, ns)
		secret.Data["u"+user] = []byte(tn.passwords[user])
	}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		user := strconv.Itoa(first + i)
		e := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e" + user}, Spec: sipv1.ExtensionSpec{
			DomainRef: "d", Extension: user, PasswordSecretRef: &sipv1.SecretKeyReference{Name: "pw", Key: "u" + user},
		}}
		if maxContacts > 0 {
			e.Spec.MaxContacts = &maxContacts
		}
		if err := k8s.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
		tn.exts = append(tn.exts, e)
	}
	eventually(t, fmt.Sprintf("%d extensions of %s Ready", n, ns), 2*time.Minute, func() error {
		var list sipv1.ExtensionList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, sipv1.ConditionReady) {
				ready++
			}
		}
		if ready != n {
			return fmt.Errorf("%d of %d Ready", ready, n)
		}
		return nil
	})
	return tn
}

// bindings returns the tenant's bindings in status, by AOR, and their total.
func (tn *tenant) bindings(ctx context.Context) (map[string][]sipv1.Binding, int, error) {
	var list sipv1.ExtensionList
	if err := k8s.List(ctx, &list, client.InNamespace(tn.ns)); err != nil {
		return nil, 0, err
	}
	out, total := map[string][]sipv1.Binding{}, 0
	for i := range list.Items {
		e := &list.Items[i]
		out[e.Status.AddressOfRecord] = e.Status.Bindings
		total += len(e.Status.Bindings)
	}
	return out, total, nil
}

// waitBindings waits until status shows exactly want bindings in the tenant.
func (tn *tenant) waitBindings(t testing.TB, want int, timeout time.Duration) map[string][]sipv1.Binding {
	t.Helper()
	var got map[string][]sipv1.Binding
	eventually(t, fmt.Sprintf("%d bindings in the status of %s", want, tn.ns), timeout, func() error {
		var total int
		var err error
		if got, total, err = tn.bindings(context.Background()); err != nil {
			return err
		}
		if total != want {
			return fmt.Errorf("%d bindings", total)
		}
		return nil
	})
	return got
}

// replicaConfig is a replica on ip with the throttles off unless a test sets them.
func replicaConfig(name, ip string) registrar.Config {
	return registrar.Config{
		Namespace: registrarNS, Name: name,
		SIPAddress: ip + ":0", Transports: []string{"udp", "tcp"},
		MetricsAddress: "0", ProbeAddress: "0",
		NonceLifetime: 5 * time.Minute, StatusLease: 15 * time.Minute, StatusInterval: 50 * time.Millisecond,
		BySource: throttle.Config{MaxFailures: 0, Window: time.Minute, BlockFor: time.Minute},
		ByAOR:    throttle.Config{MaxFailures: 0, Window: time.Minute, BlockFor: time.Minute},
	}
}

// startReplica runs one registrar replica in this process, as the registrar's
// ServiceAccount, and stops it when the test ends (or earlier, with the returned stop).
func startReplica(t testing.TB, cfg registrar.Config) (*registrar.Replica, func()) {
	t.Helper()
	rc := impersonating(registrarSA, serviceAccountGroups()...)
	r, err := registrar.New(cfg, rc, ctrl.Log.WithName(cfg.Name))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.SIPReady:
	case err := <-done:
		cancel()
		t.Fatalf("replica %s stopped: %v", cfg.Name, err)
	case <-time.After(wait):
		cancel()
		t.Fatalf("replica %s did not start serving SIP", cfg.Name)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return r, stop
}

// waitKnows waits until the replica has the credentials of every AOR.
func waitKnows(t testing.TB, r *registrar.Replica, aors ...string) {
	t.Helper()
	eventually(t, "the replica knows the credentials", wait, func() error {
		for _, a := range aors {
			if !r.Knows(a) {
				return fmt.Errorf("%s not known yet", a)
			}
		}
		return nil
	})
}

// sipp runs SIPp with args (the scenario path relative to this package) and
// returns its output; it is killed after limit.
func sipp(t testing.TB, limit time.Duration, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	full := append([]string{"-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, args...)
	if d := os.Getenv("RELIABILITY_SIPP_TRACE"); d != "" {
		full = append([]string{"-trace_msg", "-message_file", filepath.Join(d, fmt.Sprintf("sipp-%d.log", time.Now().UnixNano()))}, full...)
	}
	cmd := exec.CommandContext(ctx, "sipp", full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
		return out.String(), fmt.Errorf("sipp %v: %w\n%s\n%s", args, err, testenv.LastLines(out.String(), 20), testenv.LastLines(string(errs), 20))
	}
	return out.String(), nil
}

// freePort returns a UDP and TCP port free on ip at the time of asking.
func freePort(t testing.TB, ip string) int {
	t.Helper()
	return freePorts(t, ip, 1)[0]
}

// freePorts returns n distinct ports, each free for UDP and TCP on ip.
func freePorts(t testing.TB, ip string, n int) []int {
	t.Helper()
	ports, err := testenv.FreePorts(ip, n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// sippSummary picks the totals out of SIPp's final screen.
func sippSummary(out string) string {
	var parts []string
	for _, line := range strings.Split(out, "\n") {
		l := strings.TrimSpace(line)
		for _, k := range []string{"Successful call", "Failed call", "Call Rate", "Response Time 1"} {
			if strings.HasPrefix(l, k) {
				parts = append(parts, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	return strings.Join(parts, "; ")
}
