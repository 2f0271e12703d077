package status

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// These tests and the benchmark write into a real kube-apiserver and etcd, started
// on first use: a registration storm is bounded by what the API server takes, which
// the fake client does not show.

var (
	realOnce sync.Once
	realEnv  *testenv.Env
	realErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if realEnv != nil {
		_ = realEnv.Stop()
	}
	os.Exit(code)
}

func realAPIServer(tb testing.TB) *testenv.Env {
	tb.Helper()
	realOnce.Do(func() { realEnv, realErr = testenv.Start() })
	if realErr != nil {
		tb.Fatal(realErr)
	}
	return realEnv
}

// watching is a client of env that interceptor.NewClient takes.
func watching(tb testing.TB, env *testenv.Env) client.WithWatch {
	tb.Helper()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// fleet is n Extensions in a namespace of their own, one AOR each.
type fleet struct {
	aors    []string
	targets map[string]types.NamespacedName
}

func newFleet(tb testing.TB, env *testenv.Env, n int) *fleet {
	tb.Helper()
	ctx := context.Background()
	ns, err := env.CreateNamespace(ctx, "storm")
	if err != nil {
		tb.Fatal(err)
	}
	f := &fleet{targets: map[string]types.NamespacedName{}}
	for i := range n {
		aor := fmt.Sprintf("%d@%s.example.net", 10000+i, ns)
		f.aors = append(f.aors, aor)
		f.targets[aor] = types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("ext-%d", 10000+i)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan string)
	for range 16 {
		wg.Go(func() {
			for aor := range work {
				nn := f.targets[aor]
				ext := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name},
					Spec: sipv1.ExtensionSpec{DomainRef: "acme", Extension: nn.Name[len("ext-"):]}}
				if err := env.Client.Create(ctx, ext); err != nil {
					errs <- fmt.Errorf("while creating %s: %w", nn, err)
				}
			}
		})
	}
	for _, aor := range f.aors {
		work <- aor
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return f
}

// writer returns a replica's writer of the fleet through c, over a table of its own.
func (f *fleet) writer(c client.Client, writers int) (*Writer, *location.Table, *Changes) {
	changes := NewChanges()
	table := location.New(0, changes.Mark)
	w := NewWriter(Config{
		Client: c, Replica: "replica-1", Lease: testLease, Interval: time.Hour, Writers: writers,
		Table: table, Changes: changes,
		Resolve: func(aor string) (types.NamespacedName, bool) { nn, ok := f.targets[aor]; return nn, ok },
	})
	return w, table, changes
}

// registerAt binds one device at aor, as its first REGISTER does.
func registerAt(tb testing.TB, table *location.Table, aor string, now time.Time) {
	tb.Helper()
	_, err := table.Register(location.Request{
		AOR: aor, CallID: "call-" + aor, CSeq: 1, Expires: 3600,
		Contacts: []location.ContactUpdate{{URI: "sip:phone@192.0.2.10", Expires: -1}},
		Source:   "192.0.2.10:5060", Transport: "UDP", UserAgent: "test-phone", Now: now,
	}, policy)
	if err != nil {
		tb.Fatalf("REGISTER %s: %v", aor, err)
	}
}

// The writer's backlog (the registrar_status_pending gauge, which tells an operator
// and the storm benchmark whether status has caught up) counts the writes under way:
// during a storm, a flush that has taken every change but not yet written them has
// not caught up.
func TestPendingCountsWritesInFlight(t *testing.T) {
	env := realAPIServer(t)
	f := newFleet(t, env, 4)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(len(f.aors))
	c := interceptor.NewClient(watching(t, env), interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			started.Done()
			<-release
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	w, table, _ := f.writer(c, 0)
	for _, aor := range f.aors {
		registerAt(t, table, aor, time.Now())
	}
	flushed := make(chan struct{})
	go func() { w.Flush(context.Background()); close(flushed) }()
	started.Wait() // every write has reached the API server and waits there

	if n := w.Pending(); n != len(f.aors) {
		t.Errorf("pending AORs while %d writes are under way: %d, want %d", len(f.aors), n, len(f.aors))
	}
	close(release)
	<-flushed
	if n := w.Pending(); n != 0 {
		t.Errorf("pending AORs once written: %d, want 0", n)
	}
	for _, aor := range f.aors {
		var ext sipv1.Extension
		if err := env.Client.Get(context.Background(), f.targets[aor], &ext); err != nil {
			t.Fatal(err)
		}
		if len(ext.Status.Bindings) != 1 {
			t.Errorf("status of %s: %+v, want its one binding", aor, ext.Status.Bindings)
		}
	}
}

// A device that just registered reaches status ahead of a backlog of lease
// renewals: after an outage the renewals of every binding still held fall due
// together, and the phones that come back must not wait behind them.
func TestNewBindingsAreWrittenAheadOfLeaseRenewals(t *testing.T) {
	env := realAPIServer(t)
	const renewals = 400
	f := newFleet(t, env, renewals+1)
	var (
		mu    sync.Mutex
		order []string
	)
	c := interceptor.NewClient(watching(t, env), interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			mu.Lock()
			order = append(order, obj.GetName())
			mu.Unlock()
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	w, table, _ := f.writer(c, 0)
	now := time.Now()
	held, newcomer := f.aors[:renewals], f.aors[renewals]
	for _, aor := range held {
		registerAt(t, table, aor, now)
	}
	w.Flush(context.Background())
	// Their published leases run out: as after a restart that read them back.
	for _, aor := range held {
		w.Restored(aor, f.targets[aor], []published{publishedUntil("sip:phone@192.0.2.10", now)})
	}
	w.markExpiringLeases()
	registerAt(t, table, newcomer, now)
	mu.Lock()
	order = nil
	mu.Unlock()

	w.Flush(context.Background())

	mu.Lock()
	defer mu.Unlock()
	if len(order) != renewals+1 {
		t.Fatalf("writes: %d, want %d renewals and the newcomer", len(order), renewals+1)
	}
	// As many writes as are in flight at once may start before it, no more.
	for i, name := range order {
		if name == f.targets[newcomer].Name {
			if i >= DefaultWriters {
				t.Errorf("the new binding was write %d of %d, behind %d lease renewals; want it among the first %d",
					i+1, len(order), i, DefaultWriters)
			}
			return
		}
	}
	t.Errorf("the new binding was not written")
}

// BenchmarkStormStatusWrites writes the first binding of 1,000 Extensions into a
// real API server (no operator watching), with as many writes in flight as the
// sub-benchmark says (8, as before --status-writers, and 32, its default): what
// bounds how fast a storm of new registrations reaches status. writes/s is per
// sub-benchmark. Each run adds Extensions to the same etcd, so later runs are
// slower: compare the two in separate processes, alternating, e.g.
//
//	go test -c -o /tmp/status.test ./registrar/status/ && cd registrar/status &&
//	for i in 1 2 3; do for w in 32 8; do /tmp/status.test -test.run XXX \
//	  -test.bench "StormStatusWrites/writers=$w\$" -test.benchtime=1x; done; done
func BenchmarkStormStatusWrites(b *testing.B) {
	env := realAPIServer(b)
	const n = 1000
	for _, writers := range []int{8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				f := newFleet(b, env, n)
				w, table, _ := f.writer(env.Client, writers)
				now := time.Now()
				for _, aor := range f.aors {
					registerAt(b, table, aor, now)
				}
				b.StartTimer()
				start := time.Now()
				w.Flush(context.Background())
				total += time.Since(start)
				if p := w.Pending(); p != 0 {
					b.Fatalf("%d AORs left unwritten", p)
				}
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "writes/s")
		})
	}
}
