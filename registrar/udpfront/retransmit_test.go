package udpfront

import (
	"fmt"
	"testing"
	"time"
)

// cached is the response c has for key, as a string ("" when none).
func cached(c *responseCache, key string) (string, bool) {
	b, ok := c.get([]byte(key), nil)
	return string(b), ok
}

func TestResponseCacheIsBoundedAndForgetsInGenerations(t *testing.T) {
	const size = 4
	c := newResponseCache(size)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.started = now
	for i := range 2 * size {
		c.put(fmt.Appendf(nil, "key%d", i), fmt.Appendf(nil, "response %d", i))
	}
	// Two full generations: everything is still there.
	for i := range 2 * size {
		if res, ok := cached(c, fmt.Sprintf("key%d", i)); !ok || res != fmt.Sprintf("response %d", i) {
			t.Fatalf("entry %d lost within two generations: %q", i, res)
		}
	}
	c.put([]byte("next"), []byte("x"))
	if _, ok := cached(c, "key0"); ok {
		t.Error("the oldest generation outlived its successors: the cache is unbounded")
	}
	if n := len(c.young.index) + len(c.old.index); n > 2*size {
		t.Errorf("cache holds %d entries, bound is %d", n, 2*size)
	}
	// The generation that retired was reused: what it held must not answer, and
	// what replaced it must answer with its own bytes.
	for i := range size {
		c.put(fmt.Appendf(nil, "new%d", i), fmt.Appendf(nil, "new response %d", i))
	}
	if res, ok := cached(c, "new0"); !ok || res != "new response 0" {
		t.Errorf("an entry in a reused generation answered %q, %v", res, ok)
	}
}

func TestResponseCacheIsBoundedInBytes(t *testing.T) {
	c := newResponseCache(1000)
	big := make([]byte, c.arenaBytes/2)
	c.put([]byte("a"), big)
	c.put([]byte("b"), big) // does not fit beside a: a new generation
	c.put([]byte("c"), big) // nor beside b: a is gone
	if _, ok := cached(c, "a"); ok {
		t.Error("three entries of half a generation each are all kept: the arenas are unbounded")
	}
	if _, ok := cached(c, "c"); !ok {
		t.Error("the newest entry is missing")
	}
	c.put([]byte("huge"), make([]byte, c.arenaBytes+1))
	if _, ok := cached(c, "huge"); ok {
		t.Error("an entry larger than a generation was kept")
	}
	if _, ok := cached(c, "c"); !ok {
		t.Error("an entry too large to keep evicted the others")
	}
}

func TestResponseCacheRotatesWithTime(t *testing.T) {
	c := newResponseCache(100)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.started = now
	c.put([]byte("a"), []byte("x"))
	now = now.Add(cacheWindow)
	c.put([]byte("b"), []byte("y"))
	if _, ok := cached(c, "a"); !ok {
		t.Fatal("an entry one window old must still answer")
	}
	now = now.Add(cacheWindow)
	c.put([]byte("c"), []byte("z"))
	if _, ok := cached(c, "a"); ok {
		t.Error("an entry two windows old still answers")
	}
}

func TestCacheKeepsItsOwnCopy(t *testing.T) {
	c := newResponseCache(4)
	key, buf := []byte("k"), []byte("first")
	c.put(key, buf)
	copy(buf, "XXXXX") // the reader reuses its buffers for the next request
	key[0] = 'j'
	if res, _ := cached(c, "k"); res != "first" {
		t.Errorf("cached %q: the cache shares the reader's buffer", res)
	}
	out, _ := c.get([]byte("k"), nil)
	copy(out, "YYYYY")
	if res, _ := cached(c, "k"); res != "first" {
		t.Errorf("cached %q: get hands out the cache's own bytes", res)
	}
}

// Entries stay whole across the arena's chunks, and when a retired generation's
// chunks are reused for responses of other sizes.
func TestResponseCacheKeepsEntriesAcrossChunks(t *testing.T) {
	const size = 2000 // about five chunks of 700-byte entries per generation
	c := newResponseCache(size)
	response := func(round, i int) []byte {
		b := fmt.Appendf(nil, "round %d response %d ", round, i)
		return append(b, make([]byte, 600+(i*(round+1))%200)...)
	}
	for round := range 4 { // round 2 reuses round 0's generation, round 3 round 1's
		for i := range size {
			c.put(fmt.Appendf(nil, "r%d-key%d", round, i), response(round, i))
		}
		if len(c.young.chunks) < 2 {
			t.Fatalf("a generation of %d entries fit one chunk: the test does not cross chunks", size)
		}
		for i := range size {
			got, ok := cached(c, fmt.Sprintf("r%d-key%d", round, i))
			if want := string(response(round, i)); !ok || got != want {
				t.Fatalf("round %d, entry %d: got %d bytes starting %.24q, want %d bytes", round, i, len(got), got, len(want))
			}
		}
	}
}

// BenchmarkResponseCacheFills fills a new cache with 200 OKs as a registrar does in
// its first seconds of load, and reports the slowest put: every reader waits for
// it, as it holds the cache's lock.
func BenchmarkResponseCacheFills(b *testing.B) {
	res := make([]byte, 650)
	var slowest time.Duration
	for b.Loop() {
		c := newResponseCache(DefaultCacheSize)
		key := make([]byte, 0, 64)
		for i := range 2 * DefaultCacheSize {
			key = fmt.Appendf(key[:0], "z9hG4bK-%d|127.0.0.1:5060|127.0.0.1:5060", i)
			start := time.Now()
			c.put(key, res)
			slowest = max(slowest, time.Since(start))
		}
	}
	b.ReportMetric(float64(slowest.Microseconds()), "slowest-put-µs")
}
