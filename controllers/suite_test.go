package controllers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

const (
	registrarNS = "registrar-system"
	suffix      = "registrar.test"
	wait        = 20 * time.Second
)

var (
	env *testenv.Env
	k8s client.Client
	// Counts follow within a second, so the tests see transient counts (a binding
	// that lives 3 s); the 30 s production pace has its own unit test.
	opts = controllers.Options{DomainSuffix: suffix, RegistrarNamespace: registrarNS, Fleet: controllers.DefaultFleetOptions(), CountsInterval: time.Second}
)

// TestMain runs the real operator wiring (controllers.Setup) against a real
// kube-apiserver and etcd for every test of this package.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(false)))
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	k8s = env.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The chart's owner anchor: the operator runs as installed by Helm.
	if opts.Anchor, err = createAnchor(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done, err := env.StartOperator(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns, err := env.CreateNamespace(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := testenv.Eventually(wait, check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func domain(ns, name, customer string) *sipv1.Domain {
	return &sipv1.Domain{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       sipv1.DomainSpec{CustomerID: customer},
	}
}

func extension(ns, name, domainRef, number string) *sipv1.Extension {
	return &sipv1.Extension{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       sipv1.ExtensionSpec{DomainRef: domainRef, Extension: number},
	}
}

func mustCreate(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// mustChange applies change to obj as a user's edit does: on its latest version,
// again after a conflict with the controller's own writes (status, finalizers).
func mustChange[T client.Object](t *testing.T, obj T, change func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return k8s.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("changing %T %s: %v", obj, obj.GetName(), err)
	}
}

// readyIs waits until obj's Ready condition has the status and reason, for the
// current generation.
func readyIs(t *testing.T, obj client.Object, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s Ready=%s/%s", obj, obj.GetName(), status, reason), func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		var conds []metav1.Condition
		var observed int64
		switch o := obj.(type) {
		case *sipv1.Domain:
			conds, observed = o.Status.Conditions, o.Status.ObservedGeneration
		case *sipv1.Extension:
			conds, observed = o.Status.Conditions, o.Status.ObservedGeneration
		}
		c := meta.FindStatusCondition(conds, sipv1.ConditionReady)
		switch {
		case c == nil:
			return fmt.Errorf("no Ready condition")
		case c.Status != status || c.Reason != reason:
			return fmt.Errorf("Ready=%s/%s: %s", c.Status, c.Reason, c.Message)
		case observed != obj.GetGeneration():
			return fmt.Errorf("observedGeneration %d, generation %d", observed, obj.GetGeneration())
		}
		return nil
	})
}

func gone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s/%s deleted", obj, obj.GetNamespace(), obj.GetName()), func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if err == nil {
			return fmt.Errorf("still there")
		}
		return client.IgnoreNotFound(err)
	})
}

// notRewritten checks that obj, as last read, stays at its resourceVersion on the API
// server for d: what a reconcile with nothing to do must leave alone.
func notRewritten(d time.Duration, obj client.Object) error {
	rv := obj.GetResourceVersion()
	return testenv.Consistently(d, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		if obj.GetResourceVersion() != rv {
			return fmt.Errorf("%s rewritten: resourceVersion %s → %s", obj.GetName(), rv, obj.GetResourceVersion())
		}
		return nil
	})
}

// readyExtension creates, in a namespace of its own, the Domain "d" of the customer
// prefix-<namespace> and an Extension of it with a generated password, and waits for
// it to be Ready. It returns the Extension, the customer and the realm.
func readyExtension(t *testing.T, prefix, name, number string) (e *sipv1.Extension, customer, realm string) {
	t.Helper()
	ns := newNamespace(t)
	customer = prefix + "-" + ns
	e = extension(ns, name, "d", number)
	mustCreate(t, domain(ns, "d", customer), e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	return e, customer, customer + "." + suffix
}

// replaced deletes obj and waits for the operator to make another of its name.
func replaced(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	uid := obj.GetUID()
	if err := k8s.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new "+obj.GetName(), func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		if obj.GetUID() == uid {
			return fmt.Errorf("still the deleted one")
		}
		return nil
	})
}
