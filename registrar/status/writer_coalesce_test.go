package status

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Several changes of one Extension between two flushes cost one write, and the
// write carries the latest state: a burst of REGISTERs for an extension (a phone
// with three lines coming up, one going) is one API call.
func TestChangesWithinAFlushBecomeOneWrite(t *testing.T) {
	c, log := fakeAPIServer(t)
	w, table := newTestWriter(c, "replica-1")
	now := time.Now()
	register(t, table, "sip:desk@192.0.2.10", "call-desk", 1, 3600, now)
	register(t, table, "sip:soft@192.0.2.11", "call-soft", 1, 3600, now)
	register(t, table, "sip:soft@192.0.2.11", "call-soft", 2, 0, now) // gone again
	register(t, table, "sip:cell@192.0.2.12", "call-cell", 1, 3600, now)
	if n := w.Pending(); n != 1 {
		t.Fatalf("pending AORs after four changes of one extension: %d, want 1", n)
	}

	w.Flush(context.Background())

	if applies, _ := log.counts(); applies != 1 {
		t.Errorf("status writes for four changes within one flush: %d, want 1", applies)
	}
	ext := statusOf(t, c)
	if len(ext.Status.Bindings) != 2 {
		t.Fatalf("status bindings: %+v, want desk and cell", ext.Status.Bindings)
	}
	for _, uri := range []string{"sip:desk@192.0.2.10", "sip:cell@192.0.2.12"} {
		if b, ok := bindingOf(ext, uri); !ok || b.Registrar != "replica-1" {
			t.Errorf("status entry of %s: %+v (found %t), want one held by replica-1", uri, b, ok)
		}
	}
	w.Flush(context.Background())
	if applies, _ := log.counts(); applies != 1 {
		t.Errorf("a flush with nothing changed wrote: %d writes in all, want 1", applies)
	}
}

// While the API server refuses writes, changes queue (one entry per extension) and
// land in one write, with the latest state, when it answers again.
func TestChangesQueueWhileTheAPIServerIsAwayAndLandTogether(t *testing.T) {
	c, log := fakeAPIServer(t)
	w, table := newTestWriter(c, "replica-1")
	now := time.Now()
	log.failWith(func(client.Patch) error { return errors.New("connection refused") })
	register(t, table, "sip:desk@192.0.2.10", "call-desk", 1, 3600, now)
	w.Flush(context.Background())
	if n := w.Pending(); n != 1 {
		t.Fatalf("pending AORs after a failed write: %d, want 1 (kept for a retry)", n)
	}
	register(t, table, "sip:cell@192.0.2.12", "call-cell", 1, 3600, now)
	w.Flush(context.Background())

	log.failWith(nil)
	w.Flush(context.Background())

	if applies, _ := log.counts(); applies != 3 {
		t.Errorf("status writes: %d, want 3 (two refused, one that lands)", applies)
	}
	if n := w.Pending(); n != 0 {
		t.Errorf("pending AORs after the API server came back: %d, want 0", n)
	}
	ext := statusOf(t, c)
	for _, uri := range []string{"sip:desk@192.0.2.10", "sip:cell@192.0.2.12"} {
		if _, ok := bindingOf(ext, uri); !ok {
			t.Errorf("status lacks %s after the API server came back: %+v", uri, ext.Status.Bindings)
		}
	}
}

// A replica that stops writes what it still had pending, however long the
// coalescing window.
func TestRunWritesPendingChangesWhenItStops(t *testing.T) {
	c, log := fakeAPIServer(t)
	w, table := newTestWriter(c, "replica-1") // a coalescing window of an hour
	register(t, table, "sip:desk@192.0.2.10", "call-desk", 1, 3600, time.Now())
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(done)
	}()

	stop()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	if applies, _ := log.counts(); applies != 1 {
		t.Errorf("status writes: %d, want 1", applies)
	}
	if _, ok := bindingOf(statusOf(t, c), "sip:desk@192.0.2.10"); !ok {
		t.Errorf("the pending binding did not reach status when the writer stopped")
	}
}

// A write that the shutdown cuts short is no error: the last flush, which Run makes
// as it stops, writes it.
func TestWriteCutShortByTheShutdownIsWrittenByTheLastFlush(t *testing.T) {
	c, log := fakeAPIServer(t)
	w, table := newTestWriter(c, "replica-1")
	var logged strings.Builder
	w.cfg.Log = funcr.New(func(_, args string) { logged.WriteString(args + "\n") }, funcr.Options{})
	register(t, table, "sip:desk@192.0.2.10", "call-desk", 1, 3600, time.Now())
	ctx, stop := context.WithCancel(context.Background())
	log.failWith(func(client.Patch) error {
		stop() // SIGTERM while the write is in flight
		return context.Canceled
	})
	w.Flush(ctx)
	if n := w.Pending(); n != 1 {
		t.Fatalf("pending AORs after a write cut short: %d, want 1", n)
	}
	if logged.Len() != 0 {
		t.Errorf("a write cut short by the shutdown was logged:\n%s", logged.String())
	}

	log.failWith(nil)
	w.Run(ctx) // its context is done: the last flush only
	if _, ok := bindingOf(statusOf(t, c), "sip:desk@192.0.2.10"); !ok {
		t.Errorf("the binding whose write the shutdown cut short is not in status")
	}

	// A write that fails otherwise is still an error.
	register(t, table, "sip:cell@192.0.2.12", "call-cell", 1, 3600, time.Now())
	log.failWith(func(client.Patch) error { return errors.New("connection refused") })
	w.Flush(context.Background())
	if !strings.Contains(logged.String(), "will retry") {
		t.Errorf("a refused write was not logged as an error:\n%s", logged.String())
	}
}
