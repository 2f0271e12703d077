package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// tally counts one load step's registrations, from every worker at once.
type tally struct {
	mu      sync.Mutex
	ok      int
	failed  int
	took    []time.Duration // each successful registration, from dial (new) or first REGISTER (kept) to 200 OK
	connect []time.Duration // the TCP connect and TLS handshake (and WebSocket upgrade) of each new connection
	lastErr string
	kinds   map[string]int // failures by errorKind
}

// add records one registration; connect is 0 when it reused a connection.
func (t *tally) add(took, connect time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failed++
		t.lastErr = err.Error()
		if t.kinds == nil {
			t.kinds = map[string]int{}
		}
		t.kinds[errorKind(t.lastErr)]++
		return
	}
	t.ok++
	t.took = append(t.took, took)
	if connect > 0 {
		t.connect = append(t.connect, connect)
	}
}

// loadResult is one step of the TLS load: a transport, a connection mode and a
// number of devices registering at once, each as soon as its previous one is done.
type loadResult struct {
	Transport   string
	Mode        string // new: a connection per registration; kept: re-registrations over open connections
	Concurrency int
	Seconds     float64
	OK, Failed  int
	LastErr     string
	Kinds       string  // the failures by kind, most frequent first
	Rate        float64 // registrations per second
	P50, P99    float64 // ms, a whole registration
	ConnectP50  float64 // ms, connect + handshake (new connections only)
	ConnectP99  float64
	CPUMicros   float64 // registrar CPU per registration
	// RegistrarCPU, BenchCPU (this program: the devices' side) and OtherCPU
	// (everything else on the machine) are core-seconds over the step.
	RegistrarCPU, BenchCPU, OtherCPU float64
	APIWrites                        float64 // kube-apiserver writes during the step, from every client
	StatusWrites                     float64 // the registrar's status writes during the step
}

// summarizeTally turns a step's tally and CPU seconds into a result.
func summarizeTally(t *tally, seconds, registrarCPU float64) loadResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := loadResult{Seconds: seconds, OK: t.ok, Failed: t.failed, LastErr: t.lastErr, RegistrarCPU: registrarCPU,
		P50: percentile(t.took, 0.5), P99: percentile(t.took, 0.99),
		ConnectP50: percentile(t.connect, 0.5), ConnectP99: percentile(t.connect, 0.99), Kinds: kindSummary(t.kinds)}
	if seconds > 0 {
		r.Rate = float64(t.ok) / seconds
	}
	if t.ok > 0 {
		r.CPUMicros = registrarCPU / float64(t.ok) * 1e6
	}
	return r
}

// memSnapshot is the registrar's memory at one moment.
type memSnapshot struct {
	RSSKB      float64 // VmRSS
	HeapInuse  float64 // go_memstats_heap_inuse_bytes
	StackInuse float64 // go_memstats_stack_inuse_bytes: goroutine stacks
	Goroutines float64
	Open       float64 // sip_open_connections of the transport measured
}

// connCost is what each of n connections added between two snapshots.
type connCost struct {
	N                                 int
	RSSKB, HeapKB, StackKB, Goroutine float64 // per connection
}

func perConnection(before, after memSnapshot, n int) connCost {
	if n <= 0 {
		return connCost{}
	}
	f := float64(n)
	return connCost{N: n,
		RSSKB:     (after.RSSKB - before.RSSKB) / f,
		HeapKB:    (after.HeapInuse - before.HeapInuse) / 1024 / f,
		StackKB:   (after.StackInuse - before.StackInuse) / 1024 / f,
		Goroutine: (after.Goroutines - before.Goroutines) / f,
	}
}

// errorKind is an error's text with its numbers (addresses, ports, counts) as #,
// so that failures of one cause count together.
func errorKind(msg string) string {
	var b strings.Builder
	digits := false
	for _, r := range msg {
		if unicode.IsDigit(r) {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	return b.String()
}

// kindSummary lists kinds as "n× kind", most frequent first (ties by text).
func kindSummary(kinds map[string]int) string {
	ks := slices.Collect(maps.Keys(kinds))
	slices.SortFunc(ks, func(a, b string) int {
		if kinds[a] != kinds[b] {
			return kinds[b] - kinds[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%d× %s", kinds[k], k)
	}
	return strings.Join(parts, "; ")
}
