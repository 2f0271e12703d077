package throttle

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_750_000_000, 0)

func TestLimiter(t *testing.T) {
	cfg := Config{MaxFailures: 3, Window: 10 * time.Second, BlockFor: time.Minute, Capacity: 100}
	type step struct {
		at      time.Duration
		key     string
		failure bool // record a failure (else only ask Blocked)
		blocked bool // expected result
		retry   time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"blocks at the Nth failure", []step{
			{0, "ip", true, false, 0},
			{1 * time.Second, "ip", true, false, 0},
			{2 * time.Second, "ip", false, false, 0},
			{2 * time.Second, "ip", true, true, 0},
			{2 * time.Second, "ip", false, true, time.Minute},
			{32 * time.Second, "ip", false, true, 30 * time.Second},
		}},
		{"the block lifts after BlockFor", []step{
			{0, "ip", true, false, 0},
			{0, "ip", true, false, 0},
			{0, "ip", true, true, 0},
			{time.Minute - time.Nanosecond, "ip", false, true, time.Nanosecond},
			{time.Minute, "ip", false, false, 0},
			{time.Minute, "ip", true, false, 0}, // counting starts afresh
		}},
		{"failures while blocked neither count nor extend", []step{
			{0, "ip", true, false, 0},
			{0, "ip", true, false, 0},
			{0, "ip", true, true, 0},
			{30 * time.Second, "ip", true, true, 0},
			{59 * time.Second, "ip", true, true, 0},
			{time.Minute, "ip", false, false, 0},
			{time.Minute, "ip", true, false, 0},
			{time.Minute, "ip", true, false, 0},
			{time.Minute, "ip", true, true, 0},
		}},
		{"failures outside the window do not add up", []step{
			{0, "ip", true, false, 0},
			{5 * time.Second, "ip", true, false, 0},
			{10 * time.Second, "ip", true, false, 0}, // window over: count restarts at 1
			{11 * time.Second, "ip", true, false, 0},
			{12 * time.Second, "ip", true, true, 0},
		}},
		{"keys are independent", []step{
			{0, "a", true, false, 0},
			{0, "a", true, false, 0},
			{0, "b", true, false, 0},
			{0, "b", true, false, 0},
			{0, "a", true, true, 0},
			{0, "b", false, false, 0},
			{0, "c", false, false, 0},
			{0, "b", true, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(cfg)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if s.failure {
					if got := l.Failure(s.key, now); got != s.blocked {
						t.Fatalf("step %d: Failure(%q) = %v, want %v", i, s.key, got, s.blocked)
					}
					continue
				}
				got, retry := l.Blocked(s.key, now)
				if got != s.blocked || retry != s.retry {
					t.Fatalf("step %d: Blocked(%q) = %v, %v; want %v, %v", i, s.key, got, retry, s.blocked, s.retry)
				}
			}
		})
	}
}

func TestLimiterDisabled(t *testing.T) {
	for _, l := range []*Limiter{New(Config{}), New(Config{MaxFailures: -1}), nil} {
		for i := 0; i < 100; i++ {
			if l.Failure("ip", t0) {
				t.Fatal("a disabled Limiter blocked")
			}
		}
		if blocked, _ := l.Blocked("ip", t0); blocked || l.Len() != 0 {
			t.Fatal("a disabled Limiter keeps state")
		}
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := New(Config{MaxFailures: DefaultMaxFailures})
	for i := 1; i < DefaultMaxFailures; i++ {
		if l.Failure("ip", t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("blocked after %d failures", i)
		}
	}
	if !l.Failure("ip", t0.Add(DefaultWindow-time.Second)) {
		t.Fatal("not blocked after DefaultMaxFailures in DefaultWindow")
	}
	if _, retry := l.Blocked("ip", t0.Add(DefaultWindow-time.Second)); retry != DefaultBlockFor {
		t.Errorf("retryAfter %v, want DefaultBlockFor", retry)
	}
	if d := DefaultConfig(); d.MaxFailures != 10 || d.Window != 20*time.Second || d.BlockFor != time.Minute {
		t.Errorf("DefaultConfig() = %+v", d)
	}
}

func TestLimiterCapacityUnderFlood(t *testing.T) {
	for _, capacity := range []int{1, 10, 1000} {
		l := New(Config{MaxFailures: 3, Window: time.Minute, BlockFor: time.Hour, Capacity: capacity})
		for i := 0; i < 100_000; i++ {
			l.Failure(strconv.Itoa(i), t0.Add(time.Duration(i)*time.Millisecond))
			if i%997 == 0 && l.Len() > capacity {
				t.Fatalf("capacity %d: Len() = %d", capacity, l.Len())
			}
		}
		if got := l.Len(); got > capacity {
			t.Errorf("capacity %d: Len() = %d after the flood", capacity, got)
		}
	}
}

// TestLimiterFloodKeepsBlocks: distinct one-failure keys, as spoofed UDP sources
// would bring, must not evict a blocked guesser.
func TestLimiterFloodKeepsBlocks(t *testing.T) {
	l := New(Config{MaxFailures: 3, Window: time.Minute, BlockFor: time.Hour, Capacity: 1000})
	for i := 0; i < 3; i++ {
		l.Failure("guesser", t0)
	}
	for i := 0; i < 100_000; i++ {
		l.Failure("spoofed"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if blocked, _ := l.Blocked("guesser", t0.Add(2*time.Minute)); !blocked {
		t.Error("the flood freed the blocked key")
	}
}

func TestLimiterForgetsDeadKeys(t *testing.T) {
	l := New(Config{MaxFailures: 3, Window: 10 * time.Second, BlockFor: time.Minute, Capacity: 100_000})
	for i := 0; i < 1000; i++ {
		l.Failure("old"+strconv.Itoa(i), t0)
	}
	for i := 0; i < 1000; i++ {
		l.Failure("new"+strconv.Itoa(i), t0.Add(10*time.Second))
	}
	if got := l.Len(); got != 1000 {
		t.Errorf("Len() = %d, want 1000: dead entries were kept", got)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := New(Config{MaxFailures: 100, Window: time.Hour, BlockFor: time.Hour, Capacity: 1000})
	var wg sync.WaitGroup
	var mu sync.Mutex
	blocks := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if l.Failure("shared", t0) {
					mu.Lock()
					blocks++
					mu.Unlock()
				}
				l.Blocked("shared", t0)
				l.Failure("k"+strconv.Itoa(i), t0)
			}
		}()
	}
	wg.Wait()
	// 200 failures against a limit of 100: the 100th blocks, the rest find it blocked.
	if blocks != 101 {
		t.Errorf("%d failures reported blocked, want 101", blocks)
	}
}

func TestBlockedDoesNotAllocate(t *testing.T) {
	l := New(DefaultConfig())
	l.Failure("192.0.2.1", t0)
	for _, key := range []string{"192.0.2.1", "198.51.100.7"} {
		if allocs := testing.AllocsPerRun(1000, func() { l.Blocked(key, t0) }); allocs != 0 {
			t.Errorf("Blocked(%q) allocates %v times, want 0", key, allocs)
		}
	}
}
