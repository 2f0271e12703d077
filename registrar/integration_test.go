package registrar_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/proxy"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

const (
	registrarNS = "registrar-system"
	suffix      = "registrar.test"
	wait        = 20 * time.Second
)

var (
	env *testenv.Env
	k8s client.Client
	// Two replicas on different loopback addresses, as two pods would be.
	replicaA, replicaB *registrar.Replica
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run brings up the real control plane, the operator and two registrar replicas.
func run(m *testing.M) int {
	if err := testenv.NeedSIPp(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := zap.New(zap.WriteTo(os.Stderr))
	ctrl.SetLogger(log)
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	k8s = env.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := controllers.Options{DomainSuffix: suffix, RegistrarNamespace: registrarNS, Fleet: controllers.DefaultFleetOptions()}
	if _, err := env.StartOperator(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	var stops []func()
	for i, r := range []**registrar.Replica{&replicaA, &replicaB} {
		name := []string{"replica-a", "replica-b"}[i]
		ip := []string{"127.0.0.1", "127.0.0.2"}[i]
		stop, err := startReplica(ctx, r, name, ip)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		stops = append(stops, stop)
	}
	code := m.Run()
	for _, stop := range stops {
		stop()
	}
	return code
}

// startReplica runs one registrar replica in this process, as its pod would.
func startReplica(ctx context.Context, into **registrar.Replica, name, ip string) (func(), error) {
	return startReplicaWith(ctx, into, name, ip, nil)
}

// startReplicaWith is startReplica with a change to the replica's configuration.
func startReplicaWith(ctx context.Context, into **registrar.Replica, name, ip string, change func(*registrar.Config)) (func(), error) {
	return startReplicaOn(ctx, env.Config, into, name, ip, change)
}

// startReplicaOn is startReplicaWith against the control plane of kube.
func startReplicaOn(ctx context.Context, kube *rest.Config, into **registrar.Replica, name, ip string, change func(*registrar.Config)) (func(), error) {
	cfg := registrar.Config{
		Namespace: registrarNS, Name: name,
		SIPAddress: ip + ":0", Transports: []string{"udp", "tcp"},
		MetricsAddress: "0", ProbeAddress: "0",
		NonceLifetime: 5 * time.Minute, StatusLease: 15 * time.Minute, StatusInterval: 50 * time.Millisecond,
		// Every method, for the tests of subscriptions and REFER; the default is
		// TestOnlyCallsAndMessagesReachAnExtensionByDefault's.
		RoutedMethods: []string{proxy.AllMethods},
		// Generous: the tests refuse passwords on purpose, and must not trip the throttle.
		BySource: throttle.Config{MaxFailures: 1000, Window: time.Minute, BlockFor: time.Minute},
		ByAOR:    throttle.Config{MaxFailures: 1000, Window: time.Minute, BlockFor: time.Minute},
	}
	if change != nil {
		change(&cfg)
	}
	r, err := registrar.New(cfg, kube, ctrl.Log.WithName(name))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	select {
	case <-r.SIPReady:
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("replica %s stopped: %w", name, err)
	case <-time.After(30 * time.Second):
		cancel()
		return nil, fmt.Errorf("replica %s did not start serving SIP", name)
	}
	*into = r
	return func() { cancel(); <-done }, nil
}

// tenant is one customer's Domain and an Extension with a known password.
type tenant struct {
	ns, customer, domain, user, password string
	// port is where this tenant's SIPp phone sends from: one device, one Contact.
	port   int
	ext    *sipv1.Extension
	secret *corev1.Secret
}

func (tn *tenant) aor() string { return tn.user + "@" + tn.domain }

// newTenant applies a Domain (customer ID: the namespace, unless mutate changes it), a
// password Secret and an Extension, and waits until both replicas know the credential.
func newTenant(t *testing.T, user string, mutate ...func(*sipv1.Domain)) *tenant {
	t.Helper()
	ctx := context.Background()
	ns, err := env.CreateNamespace(ctx, "sip")
	if err != nil {
		t.Fatal(err)
	}
	d := &sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "d"}, Spec: sipv1.DomainSpec{CustomerID: ns}}
	for _, f := range mutate {
		f(d)
	}
	c := d.Spec.CustomerID
	tn := &tenant{ns: ns, customer: c, domain: c + "." + suffix, user: user, password: "pw-" + ns, port: freePort(t)}
	tn.secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"}, Data: map[string][]byte{"password": []byte(tn.password)}}
	tn.ext = &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e" + user}, Spec: sipv1.ExtensionSpec{
		DomainRef: "d", Extension: user, PasswordSecretRef: &sipv1.SecretKeyReference{Name: "pw", Key: "password"},
	}}
	for _, o := range []client.Object{d, tn.secret, tn.ext} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both replicas know "+tn.aor(), func() error {
		if !replicaA.Knows(tn.aor()) || !replicaB.Knows(tn.aor()) {
			return fmt.Errorf("credential not published yet")
		}
		return nil
	})
	return tn
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := testenv.Eventually(wait, check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// bindingsAre waits until the Extension's status shows exactly the given number of
// bindings, and returns them.
func bindingsAre(t *testing.T, tn *tenant, n int) []sipv1.Binding {
	t.Helper()
	ext := &sipv1.Extension{}
	eventually(t, fmt.Sprintf("%d binding(s) in the status of %s", n, tn.aor()), func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tn.ext), ext); err != nil {
			return err
		}
		if len(ext.Status.Bindings) != n || ext.Status.Contacts != int32(n) {
			return fmt.Errorf("%d bindings, contacts %d", len(ext.Status.Bindings), ext.Status.Contacts)
		}
		return nil
	})
	return ext.Status.Bindings
}

// startExtraReplica starts one more replica, configured by mutate, for the test's
// length, and waits until it knows tn's extension.
func startExtraReplica(t *testing.T, name, ip string, tn *tenant, mutate func(*registrar.Config)) *registrar.Replica {
	t.Helper()
	var r *registrar.Replica
	stop, err := startReplicaWith(context.Background(), &r, name, ip, mutate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	eventually(t, "the replica knows the extension", func() error {
		if !r.Knows(tn.aor()) {
			return errStill
		}
		return nil
	})
	return r
}
