package main

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// stormBounds are the storm's two promises, checked in its table: every device has
// its 200 OK within registered of the first REGISTER, and every binding is in its
// Extension's status within inStatus.
type stormBounds struct {
	registered, inStatus time.Duration
}

// verdict is a bound's target cell: the bound, then pass or FAIL.
func verdict(took, bound time.Duration, ok bool) string {
	if ok && took <= bound {
		return fmt.Sprintf("≤ %s: pass", bound)
	}
	return fmt.Sprintf("≤ %s: FAIL", bound)
}

// statusWatch samples the registrar's status writer through a storm: its peak
// backlog, and when it first had nothing left to write once every device was
// registered.
type statusWatch struct {
	metrics     string
	peakPending float64
}

// waitWritten polls until the writer's backlog (AORs queued or being written) is
// empty and the API server shows a binding in the status of want Extensions, and
// returns when that was seen and how many it last showed; it gives up after
// timeout. The count is read only once the backlog is empty (a registrar before
// the backlog counted its writes in flight reported 0 while it still wrote).
func (w *statusWatch) waitWritten(ctx context.Context, c client.Client, want int, timeout time.Duration) (time.Time, int, error) {
	shown := 0
	err := waitFor(ctx, timeout, "every binding to be in status", func() error {
		p, err := scrape(w.metrics)
		if err != nil {
			return err
		}
		n := p.sum("registrar_status_pending")
		w.peakPending = max(w.peakPending, n)
		if n > 0 {
			return fmt.Errorf("%v AORs still to write", n)
		}
		if shown, err = bindingsInStatus(ctx, c); err != nil {
			return err
		}
		if shown < want {
			return fmt.Errorf("%d of %d Extensions show their binding", shown, want)
		}
		return nil
	})
	return time.Now(), shown, err
}

// bindingsInStatus counts the Extensions of the benchmark whose status shows a
// binding held by the benchmark's registrar, read in pages so as not to load the
// API server with one 20,000-object answer.
func bindingsInStatus(ctx context.Context, c client.Client) (int, error) {
	n := 0
	opts := []client.ListOption{client.InNamespace(benchNS), client.Limit(2000)}
	for {
		var list sipv1.ExtensionList
		if err := c.List(ctx, &list, opts...); err != nil {
			return n, fmt.Errorf("while counting the bindings in status: %w", err)
		}
		for _, ext := range list.Items {
			for _, b := range ext.Status.Bindings {
				if b.Registrar == replicaName {
					n++
					break
				}
			}
		}
		if list.Continue == "" {
			return n, nil
		}
		opts = []client.ListOption{client.InNamespace(benchNS), client.Limit(2000), client.Continue(list.Continue)}
	}
}
