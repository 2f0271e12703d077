package status

import (
	"fmt"
	"testing"
	"time"
)

// However often AORs change, turn due and fresh again, the set keeps one entry per
// AOR and its queues stay within a bound of it: a storm costs memory per
// Extension, not per REGISTER.
func TestChangesStayOneEntryPerAOR(t *testing.T) {
	c := NewChanges()
	for round := range 1000 {
		for i := range 10 {
			aor := fmt.Sprintf("%d@example.net", i)
			c.requeue(aor)
			c.Mark(aor)
			c.Mark(aor)
			if round%3 == 0 {
				if aor, ok := c.next(time.Now()); ok {
					c.done(aor)
				}
			}
		}
	}
	if n := c.Len(); n > 10 {
		t.Errorf("pending entries for 10 AORs: %d", n)
	}
	if q := len(c.freshQ) + len(c.dueQ); q > 2*10+64 {
		t.Errorf("queued places for 10 AORs: %d, want at most %d", q, 2*10+64)
	}
}

// A fresh change is taken before due ones; one marked after the flush began waits
// out its coalescing window, while due ones go on.
func TestChangesTakeFreshFirstAndKeepTheWindow(t *testing.T) {
	c := NewChanges()
	c.requeue("renewal@example.net")
	c.Mark("new@example.net")
	flushStart := time.Now()
	if aor, _ := c.next(flushStart); aor != "new@example.net" {
		t.Fatalf("first taken: %q, want the fresh change", aor)
	}
	c.done("new@example.net")
	c.Mark("later@example.net") // during the flush
	if aor, _ := c.next(flushStart); aor != "renewal@example.net" {
		t.Fatalf("second taken: %q, want the renewal while the later change's window is open", aor)
	}
	c.done("renewal@example.net")
	if aor, ok := c.next(flushStart); ok {
		t.Fatalf("taken %q inside its coalescing window", aor)
	}
	if !c.freshLeft() {
		t.Fatal("the later change is not reported as waiting")
	}
	if aor, _ := c.next(time.Now()); aor != "later@example.net" {
		t.Fatalf("after its window: %q, want the later change", aor)
	}
}

// The lease scan finds an AOR being written (its lease is not yet recorded) and
// leaves it alone: during a storm it would otherwise write every AOR in flight twice.
func TestChangesLeaveAnAORBeingWrittenToItsWrite(t *testing.T) {
	c := NewChanges()
	c.Mark("phone@example.net")
	aor, _ := c.next(time.Now())
	c.requeue(aor) // the lease scan, while the write is under way
	c.done(aor)
	if n := c.Len(); n != 0 {
		t.Errorf("pending after the write: %d, want 0 (no second write)", n)
	}
	c.Mark(aor) // a real change during a write is kept
	if n := c.Len(); n != 1 {
		t.Errorf("pending after a change: %d, want 1", n)
	}
}

// A change that comes while its AOR is being written waits for that write: two
// writes of one AOR at once could land in the wrong order.
func TestChangesNeverHandOutAnAORTwiceAtOnce(t *testing.T) {
	c := NewChanges()
	c.Mark("phone@example.net")
	aor, _ := c.next(time.Now())
	c.Mark(aor) // a new contact while the first write is under way
	if other, ok := c.next(time.Now()); ok {
		t.Fatalf("handed out %q while it is being written", other)
	}
	c.done(aor)
	if again, ok := c.next(time.Now()); !ok || again != aor {
		t.Fatalf("after the write: %q (%t), want the change written", again, ok)
	}
}
