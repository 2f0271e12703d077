package status

import (
	"hash/fnv"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// leaseMargin is how long before a published lease runs out the writer renews it.
const leaseMargin = 30 * time.Second

// leaseSpread is how much shorter than Lease an AOR's published lease is: up to a
// quarter of it, fixed per AOR. Devices that registered together (after an outage,
// or a fleet brought up at once) would otherwise renew their leases all in the same
// minute, every Lease; spread, the renewals come at an even pace. Shorter, never
// longer, so that status still claims no more than Lease past a device's death.
func leaseSpread(aor string, lease time.Duration) time.Duration {
	spread := min(lease/4, lease-2*leaseMargin)
	if spread <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(aor))
	return time.Duration(h.Sum64() % uint64(spread))
}

// published is what status claims of one binding: it lives until the lease.
//
// Leases are kept per binding, not per AOR: an AOR's bindings refresh on schedules
// of their own (a phone back on a new port leaves its old binding to run out), so
// the earliest lease of the AOR says nothing of when the one being refreshed needs
// renewing. Kept per AOR, an old binding's lease made every scan rewrite the AOR.
type published struct {
	uri   string // the binding's URI, shared with the table's copy
	until int64  // Unix seconds: status keeps whole seconds
}

func publishedUntil(uri string, lease time.Time) published {
	return published{uri: uri, until: lease.Unix()}
}

// leaseOf returns the lease status shows for the binding with uri. Two flows of
// one URI share an entry in status: the earlier lease is the one to renew by.
func leaseOf(leases []published, uri string) (until time.Time, ok bool) {
	earliest := int64(0)
	for _, p := range leases {
		if p.uri == uri && (!ok || p.until < earliest) {
			earliest, ok = p.until, true
		}
	}
	return time.Unix(earliest, 0), ok
}

// leaseDue reports whether a live binding of bs was refreshed to within leaseMargin
// of the lease status shows for it, or is shown with none.
func leaseDue(bs []location.Binding, leases []published, now time.Time) bool {
	for _, b := range bs {
		if !b.Live(now) {
			continue // expiry reports it as a change of its own
		}
		until, ok := leaseOf(leases, b.URI)
		if !ok || b.ExpiresAt.Add(leaseMargin).After(until) {
			return true
		}
	}
	return false
}

// markExpiringLeases marks AORs with a binding refreshed past its published lease.
func (w *Writer) markExpiringLeases() {
	var due []string
	now := time.Now()
	w.cfg.Table.Range(func(aor string, bs []location.Binding) bool {
		w.mu.Lock()
		leases := w.leases[aor]
		w.mu.Unlock()
		if leaseDue(bs, leases, now) {
			due = append(due, aor)
		}
		return true
	})
	for _, aor := range due {
		w.cfg.Changes.requeue(aor)
	}
}

// Restored records bindings read back at start-up as already published, with the
// leases status shows for them, so that a restart does not rewrite every status.
func (w *Writer) Restored(aor string, target types.NamespacedName, leases []published) {
	w.mu.Lock()
	w.targets[aor] = target
	w.leases[aor] = leases
	w.mu.Unlock()
}
