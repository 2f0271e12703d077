package throttle

import (
	"strconv"
	"testing"
	"time"
)

func TestLimiterPairs(t *testing.T) {
	l := New(Config{MaxFailures: 2, Window: 10 * time.Minute, BlockFor: 10 * time.Minute, Capacity: 100})
	if s := l.PairStanding("192.0.2.1", "1001@example.com", t0); s != (Standing{}) {
		t.Fatalf("a pair that never failed: %+v", s)
	}
	l.PairFailure("192.0.2.1", "1001@example.com", t0)
	want := Standing{Failed: true, FailedFor: 9 * time.Minute}
	if s := l.PairStanding("192.0.2.1", "1001@example.com", t0.Add(time.Minute)); s != want {
		t.Errorf("after one failure: %+v, want %+v", s, want)
	}
	// Both parts make the key, and where one ends matters.
	for _, other := range [][2]string{
		{"192.0.2.1", "1002@example.com"},
		{"192.0.2.2", "1001@example.com"},
		{"192.0.2.11", "001@example.com"},
	} {
		if s := l.PairStanding(other[0], other[1], t0); s.Failed {
			t.Errorf("%q failed by another pair's failure", other)
		}
	}
	if blocked, _ := l.Blocked("192.0.2.11001@example.com", t0); blocked {
		t.Error("a plain key and a pair share an entry")
	}
	if !l.PairFailure("192.0.2.1", "1001@example.com", t0.Add(2*time.Minute)) {
		t.Fatal("not blocked at MaxFailures")
	}
	want = Standing{Failed: true, FailedFor: 7 * time.Minute, Blocked: true, RetryAfter: 7 * time.Minute}
	if s := l.PairStanding("192.0.2.1", "1001@example.com", t0.Add(5*time.Minute)); s != want {
		t.Errorf("blocked: %+v, want %+v", s, want)
	}
	if s := l.PairStanding("192.0.2.1", "1001@example.com", t0.Add(12*time.Minute)); s != (Standing{}) {
		t.Errorf("after the block: %+v, want nothing", s)
	}
}

// Failed lasts the window from the first failure counted in it: a key that fails
// once a minute is not held failed for ever.
func TestStandingFailedEndsWithTheWindow(t *testing.T) {
	l := New(Config{MaxFailures: 100, Window: 10 * time.Minute, BlockFor: time.Minute, Capacity: 100})
	l.PairFailure("a", "b", t0)
	l.PairFailure("a", "b", t0.Add(9*time.Minute))
	if s := l.PairStanding("a", "b", t0.Add(10*time.Minute-time.Nanosecond)); !s.Failed || s.FailedFor != time.Nanosecond {
		t.Errorf("at the window's end: %+v, want failed for 1ns", s)
	}
	if s := l.PairStanding("a", "b", t0.Add(10*time.Minute)); s.Failed {
		t.Error("still failed after the window")
	}
}

func TestLimiterEnabled(t *testing.T) {
	var none *Limiter
	for _, l := range []*Limiter{none, New(Config{}), New(Config{MaxFailures: -1})} {
		if l.Enabled() {
			t.Error("a disabled Limiter says it is enabled")
		}
		l.PairFailure("a", "b", t0)
		if s := l.PairStanding("a", "b", t0); s != (Standing{}) {
			t.Errorf("a disabled Limiter keeps pairs: %+v", s)
		}
	}
	if !New(DefaultPairConfig()).Enabled() {
		t.Error("the default pair Limiter is disabled")
	}
}

func TestDefaultPairConfig(t *testing.T) {
	d := DefaultPairConfig()
	if d.MaxFailures != 10 || d.Window != 10*time.Minute || d.BlockFor != d.Window || d.Capacity != 1<<16 {
		t.Errorf("DefaultPairConfig() = %+v", d)
	}
}

func TestPairStandingDoesNotAllocate(t *testing.T) {
	l := New(DefaultPairConfig())
	l.PairFailure("192.0.2.1", "1001@example.com", t0)
	for _, src := range []string{"192.0.2.1", "198.51.100.7"} {
		if allocs := testing.AllocsPerRun(1000, func() { l.PairStanding(src, "1001@example.com", t0) }); allocs != 0 {
			t.Errorf("PairStanding(%q) allocates %v times, want 0", src, allocs)
		}
	}
}

// TestPairBlockOutlastsAFlood: a pair blocked at once (a guess while the AOR's
// budget is spent) stays blocked under a flood of pairs that failed once, as
// failures at other extensions would bring; forgetting it would hand its source
// another guess.
func TestPairBlockOutlastsAFlood(t *testing.T) {
	l := New(Config{MaxFailures: 10, Window: 10 * time.Minute, BlockFor: 10 * time.Minute, Capacity: 1000})
	l.PairBlock("203.0.113.1", "1001@example.com", t0)
	want := Standing{Failed: true, FailedFor: 10 * time.Minute, Blocked: true, RetryAfter: 10 * time.Minute}
	if s := l.PairStanding("203.0.113.1", "1001@example.com", t0); s != want {
		t.Fatalf("after PairBlock: %+v, want %+v", s, want)
	}
	for i := 0; i < 100_000; i++ {
		l.PairFailure("10.0."+strconv.Itoa(i>>8)+"."+strconv.Itoa(i&255), "2000@example.com", t0.Add(time.Duration(i)*time.Millisecond))
	}
	if s := l.PairStanding("203.0.113.1", "1001@example.com", t0.Add(2*time.Minute)); !s.Blocked {
		t.Error("the flood freed the blocked pair")
	}
}
