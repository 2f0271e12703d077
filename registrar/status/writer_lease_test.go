package status

import (
	"context"
	"testing"
	"time"
)

// A device refreshing its registration costs no status write while its published
// lease has room; when the lease is about to run out the writer renews it, so that
// status never shows a live device's binding as expired, and never claims more
// than Lease past the device's real expiry.
func TestLeaseIsRenewedOnlyWhenAboutToRunOut(t *testing.T) {
	c, log := fakeAPIServer(t)
	w, table := newTestWriter(c, "replica-1")
	const uri = "sip:desk@192.0.2.10"
	t0 := time.Now()
	register(t, table, uri, "call-desk", 1, 3600, t0)
	w.Flush(context.Background())
	first, ok := bindingOf(statusOf(t, c), uri)
	if !ok {
		t.Fatal("the binding did not reach status")
	}
	checkLease(t, "first write", first.ExpiresAt.Time, t0.Add(time.Hour), testLease)

	// A minute later: the lease still has most of its room.
	register(t, table, uri, "call-desk", 2, 3600, t0.Add(time.Minute))
	w.markExpiringLeases()
	w.Flush(context.Background())
	if applies, _ := log.counts(); applies != 1 {
		t.Fatalf("status writes after a refresh within the lease: %d, want 1 (the first only)", applies)
	}

	// A Lease later: the refreshed expiry has caught up with the published lease.
	renewedAt := t0.Add(testLease)
	register(t, table, uri, "call-desk", 3, 3600, renewedAt)
	w.markExpiringLeases()
	if n := w.Pending(); n != 1 {
		t.Fatalf("pending AORs with a lease about to run out: %d, want 1", n)
	}
	w.Flush(context.Background())
	if applies, _ := log.counts(); applies != 2 {
		t.Errorf("status writes after the lease renewal: %d, want 2", applies)
	}
	renewed, _ := bindingOf(statusOf(t, c), uri)
	checkLease(t, "renewal", renewed.ExpiresAt.Time, renewedAt.Add(time.Hour), testLease)
}

// checkLease fails unless published lies after the real expiry by more than the
// margin the writer renews at, and by no more than lease (plus the rounding up to
// whole seconds).
func checkLease(t *testing.T, what string, published, expiry time.Time, lease time.Duration) {
	t.Helper()
	if ahead := published.Sub(expiry); ahead <= leaseMargin || ahead > lease+time.Second {
		t.Errorf("%s: published expiresAt %s lies %s after the real expiry %s; want more than %s, at most %s",
			what, published.Format(time.RFC3339), ahead, expiry.Format(time.RFC3339), leaseMargin, lease)
	}
}

// A phone that comes back on a new port (a NAT rebinding, a restart) leaves its old
// binding to run out while the new one refreshes. Each binding's lease is renewed on
// its own schedule: the old one's earlier lease must not make every scan rewrite the
// status of the AOR once the new one's lease has been renewed (on a replica whose
// phones all did this, that was one write per AOR every few seconds).
func TestBindingLeftBehindDoesNotRenewEveryScan(t *testing.T) {
	c, log := fakeAPIServer(t)
	w, table := newTestWriter(c, "replica-1")
	const oldURI, newURI = "sip:desk@192.0.2.10:5060", "sip:desk@192.0.2.10:5072"
	t0 := time.Now()
	register(t, table, oldURI, "call-before", 1, 3600, t0)
	w.Flush(context.Background())
	register(t, table, newURI, "call-after", 1, 3600, t0.Add(time.Minute))
	w.Flush(context.Background())
	if applies, _ := log.counts(); applies != 2 {
		t.Fatalf("status writes for two bindings: %d, want 2", applies)
	}

	// The new binding's refreshes carry its expiry past its lease: one renewal.
	renewedAt := t0.Add(time.Minute + testLease)
	register(t, table, newURI, "call-after", 2, 3600, renewedAt)
	w.markExpiringLeases()
	w.Flush(context.Background())
	if applies, _ := log.counts(); applies != 3 {
		t.Fatalf("status writes after the new binding's lease renewal: %d, want 3", applies)
	}

	// Refreshes within the renewed lease cost nothing, however old the other binding.
	for i, at := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		register(t, table, newURI, "call-after", uint32(3+i), 3600, renewedAt.Add(at))
		w.markExpiringLeases()
		if n := w.Pending(); n != 0 {
			t.Fatalf("a refresh %s after the renewal left %d AORs due for a lease renewal, want 0: the binding left behind renews the lease of the AOR at every scan", at, n)
		}
	}
	for _, uri := range []string{oldURI, newURI} {
		if _, ok := bindingOf(statusOf(t, c), uri); !ok {
			t.Errorf("status lost the binding %s", uri)
		}
	}
}
