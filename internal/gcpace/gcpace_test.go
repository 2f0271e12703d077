package gcpace

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name           string
		live, headroom uint64
		want           int
	}{
		{"a small heap gets the headroom", 16 * mib, 64 * mib, 400},
		{"rounded up, never less than the headroom", 48 * mib, 64 * mib, 134},
		{"a large heap keeps GOGC's proportional growth", 128 * mib, 64 * mib, 100},
		{"an empty heap is bounded", 0, 64 * mib, maxPercent},
		{"a tiny heap is bounded", 1 * mib, 64 * mib, maxPercent},
		{"no headroom: GOGC as set", 16 * mib, 0, 100},
	} {
		if got := Percent(tc.live, tc.headroom, 100); got != tc.want {
			t.Errorf("%s: Percent(%d MiB live, %d MiB) = %d, want %d", tc.name, tc.live/mib, tc.headroom/mib, got, tc.want)
		}
	}
}

// Run raises GOGC for this test binary's small heap once a collection has run.
func TestRunRaisesGOGCForASmallHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 1<<30, 100, time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		metrics.Read(gogc)
		if gogc[0].Value.Uint64() == maxPercent {
			return // 1 GiB of headroom over a few MiB live: the bound
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after 10 s", gogc[0].Value.Uint64())
		}
		runtime.Gosched()
	}
}

func TestStartRefusesWhatIsNotAQuantity(t *testing.T) {
	for _, bad := range []string{"lots", "-1Mi", "128MB "} {
		if err := Start(context.Background(), bad, func(string) string { return "" }, logr.Discard()); err == nil {
			t.Errorf("Start(%q) = nil, want an error", bad)
		}
	}
}

// An explicit GOGC is the user's choice: the headroom then does nothing.
func TestStartLeavesAnExplicitGOGCAlone(t *testing.T) {
	var logged []string
	log := funcr.New(func(prefix, args string) { logged = append(logged, args) }, funcr.Options{})
	env := func(k string) string {
		if k == "GOGC" {
			return "300"
		}
		return ""
	}
	if err := Start(context.Background(), "128Mi", env, log); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "paced by GOGC") || !strings.Contains(logged[0], "300") {
		t.Errorf("logged %q, want that GOGC=300 paces the collector", logged)
	}
}
