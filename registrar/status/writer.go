// Package status writes the bindings a registrar replica holds into the status of
// their Extensions, and reads them back when the replica starts. It is where the
// location table's bindings meet the API types (convert.go).
//
// The table marks each AOR whose bindings change in a Changes (changes.go); the
// Writer drains it, coalescing the changes of Config.Interval into one write per AOR.
//
// Each replica applies status.bindings server-side with a field manager of its own,
// so it owns exactly its entries (the list is keyed by contact URI): it never tramples
// another replica's bindings or the operator's conditions.
//
// What status claims stays true within a bound, the lease: a binding shown in status
// is alive, or died less than Lease ago. The replica writes each binding with
// expiresAt = its real expiry + Lease (less a spread per AOR, see leaseSpread) and
// rewrites it only when a refresh carries the
// real expiry to within leaseMargin of that, so a device refreshing every 60 s costs
// one write per Lease/60 s refreshes instead of one per refresh. The replica removes a
// binding from status as soon as it expires or is removed; only when the replica is
// gone does the operator prune it, at expiresAt.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// DefaultWriters is how many status writes a replica keeps in flight unless
// Config.Writers says otherwise; writeTimeout bounds each, so a hung connection
// delays one AOR's write, not the whole backlog.
const (
	DefaultWriters = 32
	writeTimeout   = 10 * time.Second
)

// Config is what a Writer needs; set every field but Observer.
type Config struct {
	Client client.Client
	// Replica is this replica's name (its pod name), written into each binding as
	// its registrar.
	Replica string
	// FlowRoute is this replica's route (a SIP URI), written into the outbound
	// flows it holds: other replicas relay requests for them through it. "" for none.
	FlowRoute string
	// Lease bounds how long a dead binding may stay in status; see the package doc.
	Lease time.Duration
	// Interval is the coalescing window: changes within it become one write per AOR.
	Interval time.Duration
	// Writers bounds the status writes in flight (0: DefaultWriters). Each waits on
	// the API server, which is what bounds a burst: one at a time, a storm of new
	// registrations reaches status at one round trip per AOR.
	Writers int
	// Table holds the bindings to write; it reports its changes into Changes.
	Table   *location.Table
	Changes *Changes
	// Resolve names the Extension of an AOR.
	Resolve  func(aor string) (types.NamespacedName, bool)
	Observer Observer
	Log      logr.Logger
}

// Writer coalesces binding changes into server-side applies of Extension status.
type Writer struct {
	cfg Config

	mu      sync.Mutex
	targets map[string]types.NamespacedName // where each AOR was last written
	leases  map[string][]published          // what status claims of each AOR's bindings
}

// Observer receives the writer's measurements (Prometheus in production).
type Observer interface {
	StatusWrite(result string, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) StatusWrite(string, time.Duration) {}

// NewWriter returns a writer of cfg.Table's bindings; Run starts it.
func NewWriter(cfg Config) *Writer {
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Writers <= 0 {
		cfg.Writers = DefaultWriters
	}
	return &Writer{cfg: cfg, targets: map[string]types.NamespacedName{}, leases: map[string][]published{}}
}

// Pending counts the AORs waiting to be written or being written.
func (w *Writer) Pending() int { return w.cfg.Changes.Len() }

// Run writes changes until ctx ends, then makes a last attempt to flush. Lease
// renewals are marked on a ticker of their own, so that a long flush does not hold
// them back; they are written when no fresh change waits.
func (w *Writer) Run(ctx context.Context) {
	var scans sync.WaitGroup
	defer scans.Wait()
	scanCtx, stopScans := context.WithCancel(ctx)
	defer stopScans()
	scans.Go(func() {
		leaseScan := time.NewTicker(leaseMargin / 6)
		defer leaseScan.Stop()
		for {
			select {
			case <-scanCtx.Done():
				return
			case <-leaseScan.C:
				w.markExpiringLeases()
				w.cfg.Changes.wake()
			}
		}
	})
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			w.Flush(flushCtx)
			cancel()
			return
		case <-w.cfg.Changes.kick:
			// Let a burst of changes gather before writing.
			select {
			case <-time.After(w.cfg.Interval):
			case <-ctx.Done():
				continue
			}
		case <-retry.C:
		}
		w.Flush(ctx)
	}
}

// Flush writes every pending AOR, fresh changes first, with up to Config.Writers
// writes in flight, until none is left; changes that come meanwhile are written in
// the same flush. Those that fail are marked due again when it ends and retried on
// the next: while the API server is away, changes gather here (one entry per AOR,
// the latest state wins) and land when it returns.
func (w *Writer) Flush(ctx context.Context) {
	var (
		mu      sync.Mutex
		failed  []string
		lastErr error
		written int
		wg      sync.WaitGroup
	)
	start := time.Now()
	for range w.cfg.Writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				// What was marked before the flush, and what has waited out the
				// coalescing window since: a change that comes during a long flush
				// still gathers the others of its AOR for Interval.
				markedBy := time.Now().Add(-w.cfg.Interval)
				if markedBy.Before(start) {
					markedBy = start
				}
				aor, ok := w.cfg.Changes.next(markedBy)
				if !ok {
					return
				}
				wctx, cancel := context.WithTimeout(ctx, writeTimeout)
				err := w.write(wctx, aor)
				cancel()
				mu.Lock()
				written++
				if err != nil {
					failed = append(failed, aor)
					lastErr = err
				}
				mu.Unlock()
				if err == nil {
					w.cfg.Changes.done(aor)
				}
			}
		})
	}
	wg.Wait()
	// A failed AOR stays in flight until now, so that this flush does not take it
	// again at once.
	for _, aor := range failed {
		w.cfg.Changes.failed(aor)
	}
	if w.cfg.Changes.freshLeft() {
		w.cfg.Changes.wake() // those still in their window: Run waits it out and flushes again
	}
	// One line per flush, not one per AOR: during an API outage every AOR fails.
	switch {
	case len(failed) == 0:
	case errors.Is(ctx.Err(), context.Canceled):
		// Shutting down: Run's last flush writes them.
		w.cfg.Log.V(1).Info("status writes cut short by the shutdown", "failed", len(failed), "of", written)
	default:
		w.cfg.Log.Error(lastErr, "while writing bindings into status; will retry", "failed", len(failed), "of", written)
	}
}

func (w *Writer) write(ctx context.Context, aor string) error {
	w.mu.Lock()
	target, known := w.targets[aor]
	w.mu.Unlock()
	if nn, ok := w.cfg.Resolve(aor); ok {
		target, known = nn, true
	}
	if !known {
		return nil // never written and no Extension to write to
	}
	bindings := w.cfg.Table.Snapshot(aor)
	lease := w.cfg.Lease - leaseSpread(aor, w.cfg.Lease)
	now := time.Now()
	out := make([]sipv1.Binding, 0, len(bindings))
	leases := make([]published, 0, len(bindings))
	for _, b := range bindings {
		if !b.Live(now) {
			continue
		}
		a := toAPI(b, w.cfg.Replica, w.cfg.FlowRoute)
		// metav1.Time keeps whole seconds: round up, so the lease never undercuts
		// the real expiry by more than the spread takes off on purpose.
		a.ExpiresAt = metav1.NewTime(b.ExpiresAt.Add(lease).Truncate(time.Second).Add(time.Second))
		leases = append(leases, publishedUntil(b.URI, a.ExpiresAt.Time))
		out = appendByURI(out, a)
	}
	start := time.Now()
	live, err := w.apply(ctx, target, out)
	if err == nil && holdsOthers(live, w.cfg.Replica, out) || apierrors.IsInvalid(err) {
		// An entry taken over from a dead replica is co-owned by its field manager
		// (the fields both wrote alike): dropping it from our apply leaves it in status,
		// or strips only our fields and fails validation. Remove it outright.
		if err = w.removeLeftovers(ctx, target, out); err == nil {
			_, err = w.apply(ctx, target, out)
		}
	}
	result := "ok"
	switch {
	case apierrors.IsNotFound(err):
		result, err = "gone", nil // the Extension is gone, and its bindings with it
	case err != nil:
		result = "error"
	}
	w.cfg.Observer.StatusWrite(result, time.Since(start))
	if err != nil {
		return err
	}
	w.mu.Lock()
	if len(out) == 0 || result == "gone" {
		delete(w.leases, aor)
		delete(w.targets, aor)
	} else {
		w.leases[aor] = leases
		w.targets[aor] = target
	}
	w.mu.Unlock()
	return nil
}

// applyBody is the server-side apply document: only status.bindings, only ours.
type applyBody struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   applyMeta         `json:"metadata"`
	Status     applyStatusFields `json:"status"`
}

type applyMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type applyStatusFields struct {
	Bindings []sipv1.Binding `json:"bindings"`
}

// apply writes our bindings of target and returns the Extension as it is after.
func (w *Writer) apply(ctx context.Context, target types.NamespacedName, bindings []sipv1.Binding) (*sipv1.Extension, error) {
	body, err := json.Marshal(applyBody{
		APIVersion: sipv1.GroupVersion.String(),
		Kind:       "Extension",
		Metadata:   applyMeta{Name: target.Name, Namespace: target.Namespace},
		Status:     applyStatusFields{Bindings: bindings},
	})
	if err != nil {
		return nil, fmt.Errorf("while encoding the bindings: %w", err)
	}
	ext := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: target.Namespace, Name: target.Name}}
	// Force: a device that moved here from a dead replica takes its entry over.
	if err := w.cfg.Client.Status().Patch(ctx, ext, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldManager(w.cfg.Replica)), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("while applying the bindings of %s: %w", target, err)
	}
	return ext, nil
}

// holdsOthers reports whether ext shows, under registrar, a binding not in ours.
func holdsOthers(ext *sipv1.Extension, registrar string, ours []sipv1.Binding) bool {
	for _, b := range ext.Status.Bindings {
		if b.Registrar == registrar && !containsURI(ours, b.URI) {
			return true
		}
	}
	return false
}

func containsURI(bs []sipv1.Binding, uri string) bool {
	for _, b := range bs {
		if b.URI == uri {
			return true
		}
	}
	return false
}

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// removeLeftovers deletes, with a JSON patch, the entries status shows under this
// replica that it no longer holds. A JSON patch is not an apply: it drops the
// entries whatever manager co-owns their fields. Each removal tests the entry's URI
// first, so a concurrent change makes the patch fail and the write is retried.
func (w *Writer) removeLeftovers(ctx context.Context, target types.NamespacedName, ours []sipv1.Binding) error {
	ext := &sipv1.Extension{}
	if err := w.cfg.Client.Get(ctx, target, ext); err != nil {
		return fmt.Errorf("while reading %s to remove bindings it no longer holds: %w", target, err)
	}
	var ops []jsonPatchOp
	for i, b := range slices.Backward(ext.Status.Bindings) { // from the end: indexes stay valid
		if b.Registrar != w.cfg.Replica || containsURI(ours, b.URI) {
			continue
		}
		// Testing the registrar too: an entry another replica took over since the
		// read is its binding now, not a leftover of ours.
		path := fmt.Sprintf("/status/bindings/%d", i)
		ops = append(ops, jsonPatchOp{Op: "test", Path: path + "/uri", Value: b.URI},
			jsonPatchOp{Op: "test", Path: path + "/registrar", Value: b.Registrar}, jsonPatchOp{Op: "remove", Path: path})
	}
	if len(ops) == 0 {
		return nil
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return fmt.Errorf("while encoding the removal: %w", err)
	}
	if err := w.cfg.Client.Status().Patch(ctx, ext, client.RawPatch(types.JSONPatchType, body),
		client.FieldOwner(FieldManager(w.cfg.Replica))); err != nil {
		return fmt.Errorf("while removing bindings of %s it no longer holds: %w", target, err)
	}
	return nil
}

// FieldManager is the server-side apply field manager of a registrar replica.
func FieldManager(registrar string) string { return "registrar/" + registrar }
