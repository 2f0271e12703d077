package proxy

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A request that ended with no final response is remembered for retain, its
// retransmissions absorbed meanwhile, and no other request.
func TestSilentEndIsRememberedForRetain(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	s := newEndedKeys(8, 32*time.Second, clock.now)
	s.remember("b1|host|5060|MESSAGE")
	if !s.has("b1|host|5060|MESSAGE") {
		t.Error("a retransmission was not absorbed")
	}
	for _, other := range []string{"b1|host|5060|OPTIONS", "b2|host|5060|MESSAGE", "b1|host|5070|MESSAGE"} {
		if s.has(other) {
			t.Errorf("%s was absorbed", other)
		}
	}
	clock.advance(32*time.Second - time.Nanosecond)
	if !s.has("b1|host|5060|MESSAGE") {
		t.Error("a retransmission just before retain ran out was not absorbed")
	}
	clock.advance(time.Nanosecond)
	if s.has("b1|host|5060|MESSAGE") {
		t.Error("a request was absorbed once retain ran out")
	}
}

// However many requests end silently (a flood of them), no more than the
// capacity are remembered: the oldest give way.
func TestSilentEndsAreBounded(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	const limit = 64
	s := newEndedKeys(limit, 32*time.Second, clock.now)
	for i := range 100 * limit {
		s.remember("b" + strconv.Itoa(i) + "|host|5060|MESSAGE")
		clock.advance(time.Millisecond)
	}
	if n := s.Len(); n != limit {
		t.Errorf("%d remembered, want the capacity, %d", n, limit)
	}
	if s.has("b0|host|5060|MESSAGE") {
		t.Error("the oldest is still remembered")
	}
	if last := "b" + strconv.Itoa(100*limit-1) + "|host|5060|MESSAGE"; !s.has(last) {
		t.Error("the newest was dropped")
	}
}

// Entries leave on time though nothing else happens, and the table empties:
// a quiet spell after a burst does not hold its memory.
func TestSilentEndsExpireOnTheirOwn(t *testing.T) {
	const retain = 20 * time.Millisecond
	s := newEndedKeys(8, retain, time.Now)
	for round := range 2 { // the sweeper starts again after the table emptied
		s.remember("b1|host|5060|MESSAGE")
		s.remember("b2|host|5060|MESSAGE")
		deadline := time.Now().Add(5 * time.Second)
		for s.Len() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d entries still there %v after they expired", round, s.Len(), 5*time.Second)
			}
			time.Sleep(time.Millisecond) // polling, with a deadline
		}
	}
}

// A key remembered again after its entry expired, before the sweeper ran, is
// remembered anew for retain: the expired entry does not stand in for it.
func TestSilentEndRememberedAgainAfterItsExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	s := newEndedKeys(8, 32*time.Second, clock.now)
	const key = "b1|host|5060|MESSAGE"
	s.remember(key)
	clock.advance(33 * time.Second) // expired; the sweeper's timer runs on the real clock
	s.remember(key)
	clock.advance(10 * time.Second)
	if !s.has(key) {
		t.Error("the key remembered again 10 s ago is not absorbed")
	}
}
