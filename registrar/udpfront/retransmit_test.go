package udpfront

import (
	"fmt"
	"testing"
	"time"
)

func TestResponseCacheIsBoundedAndForgetsInGenerations(t *testing.T) {
	const size = 4
	c := newResponseCache(size)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.started = now
	for i := range 2 * size {
		c.put(fmt.Sprint(i), []byte{byte(i)})
	}
	// Two full generations: everything is still there.
	for i := range 2 * size {
		if b, ok := c.get(fmt.Sprint(i)); !ok || b[0] != byte(i) {
			t.Fatalf("entry %d lost within two generations", i)
		}
	}
	c.put("next", []byte{1})
	if _, ok := c.get("0"); ok {
		t.Error("the oldest generation outlived its successors: the cache is unbounded")
	}
	if n := len(c.young) + len(c.old); n > 2*size {
		t.Errorf("cache holds %d entries, bound is %d", n, 2*size)
	}
}

func TestResponseCacheRotatesWithTime(t *testing.T) {
	c := newResponseCache(100)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.started = now
	c.put("a", []byte("x"))
	now = now.Add(cacheWindow)
	c.put("b", []byte("y"))
	if _, ok := c.get("a"); !ok {
		t.Fatal("an entry one window old must still answer")
	}
	now = now.Add(cacheWindow)
	c.put("c", []byte("z"))
	if _, ok := c.get("a"); ok {
		t.Error("an entry two windows old still answers")
	}
}

func TestPutKeepsItsOwnCopy(t *testing.T) {
	c := newResponseCache(4)
	buf := []byte("first")
	c.put("k", buf)
	copy(buf, "XXXXX") // the reader reuses its buffer for the next response
	if b, _ := c.get("k"); string(b) != "first" {
		t.Errorf("cached %q: the cache shares the reader's buffer", b)
	}
}
