package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// connResult is the memory measurement of one transport: n idle connections, each
// proven by one REGISTER (answered 401/407, so that no binding is made: what is
// measured is the connection alone).
type connResult struct {
	Transport     string
	Before, After memSnapshot
	Cost          connCost
	HeapProfile   string
	OpenedIn      time.Duration
}

// measureConns opens o.conns connections of transport to a registrar started
// afresh, each sending one REGISTER, and compares the registrar's memory before
// and after.
func (t *tlsRun) measureConns(ctx context.Context, transport, dir string) (connResult, error) {
	res := connResult{Transport: transport}
	n := t.o.conns
	d := t.dialer(transport)
	step(fmt.Sprintf("memory: %d idle %s connections, %d opened at once from %d source addresses", n, transport, t.o.connWorkers, len(d.sources)))
	var err error
	if res.Before, err = t.snapshot(ctx, transport, filepath.Join(dir, "heap-before.pprof")); err != nil {
		return res, err
	}
	conns := make([]streamConn, n)
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	begin := time.Now()
	if err := parallel(ctx, n, t.o.connWorkers, func(ctx context.Context, i int) error {
		c, err := d.dial(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		conns[i] = c
		mu.Unlock()
		dev := newDevice(t.users[i%len(t.users)])
		dev.transport = transport
		r, err := exchange(c, dev, dev.request(c.local(), ""), 30*time.Second)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if r.code != 401 && r.code != 407 {
			return fmt.Errorf("connection %d: REGISTER answered %d, want a challenge", i, r.code)
		}
		if (i+1)%2000 == 0 {
			step(fmt.Sprintf("  %d open", i+1))
		}
		return nil
	}); err != nil {
		return res, err
	}
	res.OpenedIn = time.Since(begin)
	if err := waitFor(ctx, time.Minute, fmt.Sprintf("%d open %s connections", n, transport), func() error {
		p, err := scrape(t.sys.regMetrics)
		if err != nil {
			return err
		}
		if got := p.sum("sip_open_connections", `transport="`+transport+`"`); int(got) < n {
			return fmt.Errorf("the registrar counts %v", got)
		}
		return nil
	}); err != nil {
		return res, err
	}
	res.HeapProfile = filepath.Join(dir, "heap-after.pprof")
	if res.After, err = t.snapshot(ctx, transport, res.HeapProfile); err != nil {
		return res, err
	}
	res.Cost = perConnection(res.Before, res.After, n)
	return res, nil
}

// snapshot reads the registrar's memory. With pprof it saves a heap profile first,
// which collects garbage (gc=1), so that the heap figures are what is live.
func (t *tlsRun) snapshot(ctx context.Context, transport, profile string) (memSnapshot, error) {
	if t.sys.regPprof != "" {
		if err := download(ctx, t.sys.regPprof+"/heap?gc=1", profile); err != nil {
			return memSnapshot{}, err
		}
	}
	p, err := scrape(t.sys.regMetrics)
	if err != nil {
		return memSnapshot{}, err
	}
	return memSnapshot{
		RSSKB:      procStatusKB(t.sys.registrar.pid(), "VmRSS:"),
		HeapInuse:  p.sum("go_memstats_heap_inuse_bytes"),
		StackInuse: p.sum("go_memstats_stack_inuse_bytes"),
		Goroutines: p.sum("go_goroutines"),
		Open:       p.sum("sip_open_connections", `transport="`+transport+`"`),
	}, nil
}

// download saves what url serves (a pprof profile) at path.
func download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// A CPU profile takes as long as it samples: bounded, not unlimited.
	c := http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("while fetching %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("while fetching %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
