package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

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
