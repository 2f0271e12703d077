package digest

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestNonceCounts(t *testing.T) {
	type use struct {
		nonce string
		nc    uint32
		after time.Duration
		want  bool
	}
	tests := []struct {
		name string
		uses []use
	}{
		{"counts up", []use{{"a", 1, 0, true}, {"a", 2, 0, true}, {"a", 3, 0, true}}},
		{"replay of the same nc", []use{{"a", 1, 0, true}, {"a", 1, 0, false}}},
		{"older nc after a newer one", []use{{"a", 1, 0, true}, {"a", 5, 0, true}, {"a", 3, 0, false}, {"a", 6, 0, true}}},
		{"gaps are fine", []use{{"a", 7, 0, true}, {"a", 100, 0, true}}},
		{"no qop: once only", []use{{"a", 0, 0, true}, {"a", 0, 0, false}}},
		{"no qop after qop", []use{{"a", 1, 0, true}, {"a", 0, 0, false}}},
		{"nonces are independent", []use{{"a", 1, 0, true}, {"b", 1, 0, true}, {"a", 1, 0, false}, {"b", 2, 0, true}}},
		{"highest nc", []use{{"a", 0xffffffff, 0, true}, {"a", 0xffffffff, 0, false}}},
		{"remembered for the lifetime", []use{{"a", 1, 0, true}, {"a", 1, time.Minute, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Room for every nonce of the case in any shard the seeded hash picks (with
			// 100, one entry a shard, "a" and "b" shared one in about 1 run in 64).
			n := NewNonceCounts(DefaultNonceCountsCapacity, time.Minute)
			for i, u := range tt.uses {
				if got := n.Use(u.nonce, u.nc, t0.Add(u.after)); got != u.want {
					t.Fatalf("use %d: Use(%q, %d) = %v, want %v", i, u.nonce, u.nc, got, u.want)
				}
			}
		})
	}
}

func TestNonceCountsForgetsExpired(t *testing.T) {
	n := NewNonceCounts(100_000, time.Minute)
	for i := 0; i < 1000; i++ {
		n.Use("old"+strconv.Itoa(i), 1, t0)
	}
	// Each insert sweeps expired entries from its shard; 1000 inserts over 64 shards
	// reach every shard (but with odds of about 1e-5) and sweep more than it holds.
	later := t0.Add(time.Minute + MaxClockSkew + time.Millisecond)
	for i := 0; i < 1000; i++ {
		n.Use("new"+strconv.Itoa(i), 1, later)
	}
	if got := n.Len(); got != 1000 {
		t.Errorf("Len() = %d, want 1000: expired entries were kept", got)
	}
	// Within the lifetime plus skew nothing may be forgotten while there is room. The
	// shards are picked by a hash with a random seed: 100,000 (1,562 a shard) leaves
	// room for the 501 entries however they fall (with 1,000, 15 a shard, a shard
	// overflowed by capacity in about one run in a hundred).
	n = NewNonceCounts(100_000, time.Minute)
	n.Use("a", 1, t0)
	for i := 0; i < 500; i++ {
		n.Use("x"+strconv.Itoa(i), 1, t0.Add(time.Minute+MaxClockSkew))
	}
	if n.Use("a", 1, t0.Add(time.Minute+MaxClockSkew)) {
		t.Error("a nonce still within lifetime and skew was forgotten")
	}
}

func TestNonceCountsCapacityUnderFlood(t *testing.T) {
	for _, capacity := range []int{1, 7, 100, 1000} {
		n := NewNonceCounts(capacity, time.Hour)
		for i := 0; i < 100_000; i++ {
			if !n.Use(strconv.Itoa(i), 1, t0.Add(time.Duration(i)*time.Microsecond)) {
				t.Fatalf("capacity %d: a fresh nonce was called a replay", capacity)
			}
			if i%997 == 0 && n.Len() > capacity {
				t.Fatalf("capacity %d: Len() = %d", capacity, n.Len())
			}
		}
		if got := n.Len(); got > capacity || got < capacity/2 {
			t.Errorf("capacity %d: Len() = %d after the flood", capacity, got)
		}
	}
}

func TestNonceCountsConcurrent(t *testing.T) {
	n := NewNonceCounts(10_000, time.Minute)
	const workers, uses = 4, 2000
	accepted := make([]int, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= uses; i++ {
				// Every worker replays the same counts: none may be accepted twice.
				if n.Use("shared", uint32(i), t0) {
					accepted[w]++
				}
				n.Use("own"+strconv.Itoa(w), uint32(i), t0)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, a := range accepted {
		total += a
	}
	if total > uses || total == 0 {
		t.Errorf("%d uses of the shared nonce accepted, want between 1 and %d", total, uses)
	}
}

func TestNonceCountsDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	n := NewNonceCounts(1000, time.Minute)
	nc := uint32(0)
	if allocs := testing.AllocsPerRun(1000, func() { nc++; n.Use("AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHHIIIIJJJJKKK", nc, t0) }); allocs != 0 {
		t.Errorf("Use allocates %v times, want 0", allocs)
	}
}
