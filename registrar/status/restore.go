package status

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// restorePage is the list page size: 100,000 Extensions arrive in 200 requests
// instead of one response of hundreds of megabytes.
const restorePage = 500

// Restore reads back, from every Extension's status, the bindings this replica wrote
// before it restarted, so that a restart loses no registration. It returns how many
// bindings came back.
func (w *Writer) Restore(ctx context.Context, reader client.Reader) (int, error) {
	restored := 0
	opts := []client.ListOption{client.Limit(restorePage)}
	for {
		var page sipv1.ExtensionList
		if err := reader.List(ctx, &page, opts...); err != nil {
			return restored, fmt.Errorf("while listing extensions to restore bindings: %w", err)
		}
		for i := range page.Items {
			restored += w.restoreOne(&page.Items[i])
		}
		if page.Continue == "" {
			return restored, nil
		}
		opts = []client.ListOption{client.Limit(restorePage), client.Continue(page.Continue)}
	}
}

func (w *Writer) restoreOne(ext *sipv1.Extension) int {
	aor := ext.Status.AddressOfRecord
	if aor == "" {
		return 0
	}
	var mine []location.Binding
	var leases []published
	now := time.Now()
	for _, b := range ext.Status.Bindings {
		if b.Registrar != w.cfg.Replica {
			continue
		}
		lb := fromAPI(b)
		if takenOver(lb, w.cfg.Replica, ext.Status.Bindings, now) {
			// The device registered the flow at another replica since: ours,
			// its connection gone with our restart, is not to come back.
			continue
		}
		// Status holds the lease, not the real expiry, which lies somewhere in
		// [lease-Lease, lease]. Keeping the binding until just before the lease is
		// the safe side (no live binding is lost), and stopping short by leaseMargin
		// keeps the restart from renewing every lease at once.
		lb.ExpiresAt = b.ExpiresAt.Add(-leaseMargin)
		mine = append(mine, lb)
		leases = append(leases, publishedUntil(lb.URI, b.ExpiresAt.Time))
	}
	if len(mine) == 0 {
		return 0
	}
	w.cfg.Table.Restore(aor, mine)
	w.Restored(aor, types.NamespacedName{Namespace: ext.Namespace, Name: ext.Name}, leases)
	return len(mine)
}
