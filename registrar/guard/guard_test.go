package guard

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/location"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// t0 is the injected clock's start: every call takes its time as an argument.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const aor = "1001@acme.example"

func limiter(maxFailures int, window time.Duration) *throttle.Limiter {
	return throttle.New(throttle.Config{MaxFailures: maxFailures, Window: window, BlockFor: window, Capacity: 1024})
}

func mustVerdict(t *testing.T, g *Guard, src string, now time.Time, want Verdict, wantKind string, wantAfter time.Duration) {
	t.Helper()
	v, kind, after := g.Verdict(aor, src, now)
	if v != want || kind != wantKind || after != wantAfter {
		t.Errorf("Verdict for %s = %v %q %v, want %v %q %v", src, v, kind, after, want, wantKind, wantAfter)
	}
}

// The source throttle blocks an address after its failures, at any AOR, until the
// block lifts.
func TestFailuresBlockTheSource(t *testing.T) {
	g := &Guard{BySource: limiter(3, time.Minute)}
	for i := range 3 {
		if blocked, _ := g.SourceBlocked("192.0.2.1", t0); blocked {
			t.Fatalf("blocked after %d failures, want 3", i)
		}
		g.Failed(fmt.Sprintf("100%d@acme.example", i), "192.0.2.1", t0)
	}
	if blocked, after := g.SourceBlocked("192.0.2.1", t0.Add(time.Second)); !blocked || after != 59*time.Second {
		t.Errorf("SourceBlocked = %v %v, want true 59s", blocked, after)
	}
	if blocked, _ := g.SourceBlocked("192.0.2.2", t0); blocked {
		t.Error("another address is blocked")
	}
	if blocked, _ := g.SourceBlocked("192.0.2.1", t0.Add(time.Minute)); blocked {
		t.Error("still blocked when the block ended")
	}
}

// The (source, AOR) throttle refuses one address at one extension; another address
// there, and the address at another extension, are judged.
func TestPairRefusesOneSourceAtOneAOR(t *testing.T) {
	g := &Guard{BySourceAOR: limiter(2, 10*time.Minute)}
	g.Failed(aor, "192.0.2.1", t0)
	mustVerdict(t, g, "192.0.2.1", t0, Judge, "", 0)
	g.Failed(aor, "192.0.2.1", t0.Add(time.Minute))
	mustVerdict(t, g, "192.0.2.1", t0.Add(2*time.Minute), Refuse, KindSourceAOR, 9*time.Minute)
	mustVerdict(t, g, "192.0.2.2", t0.Add(2*time.Minute), Judge, "", 0)
	if v, _, _ := g.Verdict("1002@acme.example", "192.0.2.1", t0.Add(2*time.Minute)); v != Judge {
		t.Errorf("Verdict at another AOR = %v, want Judge", v)
	}
}

// A spent AOR budget refuses the sources that failed at the AOR, until the budget's
// block lifts or their failures are forgotten, whichever is first; a source that never
// failed there passes, on a nonce issued to it, and its first wrong answer blocks it.
func TestSpentBudgetHoldsBackOnlyTheSourcesThatFailed(t *testing.T) {
	g := &Guard{ByAOR: limiter(3, time.Minute), BySourceAOR: limiter(100, 10*time.Minute)}
	for _, src := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		g.Failed(aor, src, t0)
	}
	now := t0.Add(10 * time.Second)
	mustVerdict(t, g, "192.0.2.1", now, Refuse, KindAOR, 50*time.Second)
	mustVerdict(t, g, "198.51.100.7", now, JudgeIfReturnable, "", 0)
	g.Failed(aor, "198.51.100.7", now)
	mustVerdict(t, g, "198.51.100.7", now, Refuse, KindSourceAOR, 10*time.Minute)
	mustVerdict(t, g, "192.0.2.1", t0.Add(time.Minute), Judge, "", 0)
}

// Without the (source, AOR) throttle nothing tells sources apart: the spent budget
// refuses every source.
func TestSpentBudgetWithoutPairsRefusesEverySource(t *testing.T) {
	g := &Guard{ByAOR: limiter(1, time.Minute)}
	g.Failed(aor, "192.0.2.1", t0)
	mustVerdict(t, g, "198.51.100.7", t0, Refuse, KindAOR, time.Minute)
}

// A source holding a live binding of the AOR has registered with the password: it
// passes either block, on a nonce issued to it.
func TestBindingHolderPassesABlock(t *testing.T) {
	table := location.New(1, nil)
	_, err := table.Register(location.Request{
		AOR: aor, CallID: "c", CSeq: 1, Expires: 3600, Source: "192.0.2.1:5060", Transport: "UDP", Now: t0,
		Contacts: []location.ContactUpdate{{URI: "sip:1001@192.0.2.1:5060", Expires: -1}},
	}, location.Policy{MinExpires: 60, DefaultExpires: 3600, MaxExpires: 7200, MaxContacts: 3})
	if err != nil {
		t.Fatal(err)
	}
	g := &Guard{ByAOR: limiter(100, time.Minute), BySourceAOR: limiter(1, 10*time.Minute), Bindings: table}
	g.Failed(aor, "192.0.2.1", t0)
	g.Failed(aor, "192.0.2.2", t0)
	mustVerdict(t, g, "192.0.2.1", t0, JudgeIfReturnable, "", 0)
	mustVerdict(t, g, "192.0.2.2", t0, Refuse, KindSourceAOR, 10*time.Minute)
}

func TestNilGuardThrottlesNothing(t *testing.T) {
	var g *Guard
	g.Failed(aor, "192.0.2.1", t0)
	if blocked, _ := g.SourceBlocked("192.0.2.1", t0); blocked {
		t.Error("a nil guard blocks")
	}
	mustVerdict(t, g, "192.0.2.1", t0, Judge, "", 0)
}

// A nonce bound to an address is good from that address only, and says so; a
// nonce for the realm alone is good from anywhere.
func TestCheckNonceTellsABoundNonce(t *testing.T) {
	nonces := digest.NewNonceSigner([]byte("0123456789abcdef0123456789abcdef"), time.Minute)
	const realm = "acme.example"
	bound := nonces.Issue(NonceRealm(realm, "192.0.2.1"), t0)
	if err, returnable := CheckNonce(nonces, bound, realm, "192.0.2.1", t0); err != nil || !returnable {
		t.Errorf("bound nonce from its address: %v returnable=%v, want nil true", err, returnable)
	}
	if err, returnable := CheckNonce(nonces, bound, realm, "192.0.2.2", t0); !errors.Is(err, digest.ErrNonceInvalid) || returnable {
		t.Errorf("bound nonce from another address: %v returnable=%v, want ErrNonceInvalid false", err, returnable)
	}
	plain := nonces.Issue(NonceRealm(realm, ""), t0)
	if err, returnable := CheckNonce(nonces, plain, realm, "192.0.2.2", t0); err != nil || returnable {
		t.Errorf("realm nonce: %v returnable=%v, want nil false", err, returnable)
	}
}

func TestSourceHost(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10:5062":    "192.0.2.10",
		"[2001:db8::7]:5071": "2001:db8::7",
		"2001:db8::7":        "2001:db8::7",
		"[2001:db8::7]":      "2001:db8::7",
		"host.example:5060":  "host.example",
		"192.0.2.10":         "192.0.2.10",
	} {
		if got := SourceHost(in); got != want {
			t.Errorf("SourceHost(%q) = %q, want %q", in, got, want)
		}
	}
}
