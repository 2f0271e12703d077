// REGISTER failure throttles by source and by AOR, and their Retry-After.

package register

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Brute force from one address: after MaxFailures wrong passwords the address gets
// 403 Too Many Failed Attempts with Retry-After, even with the right password, until
// BlockFor has passed; other addresses are unaffected.
func TestSourceThrottleBlocksAnAddressAfterFailures(t *testing.T) {
	e := newEnv(t)
	e.throttle(3, 100)
	attacker := e.device(testUser, "guess")
	for range 3 {
		mustStatus(t, attacker.register(nil), sip.StatusForbidden, "Forbidden")
	}
	victimSameIP := e.device(testUser, testPassword)
	victimSameIP.src = "192.0.2.10:5070" // same host, another port
	res := victimSameIP.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"60"}) {
		t.Errorf("Retry-After %q, want 60", got)
	}
	if e.obs.throttleKind["source"] == 0 || e.obs.lastOutcome() != OutcomeThrottled {
		t.Errorf("throttles %v, outcome %q", e.obs.throttleKind, e.obs.lastOutcome())
	}

	elsewhere := e.device(testUser, testPassword)
	elsewhere.src = "198.51.100.20:5060"
	mustStatus(t, elsewhere.register(nil), sip.StatusOK, "")

	e.advance(59 * time.Second)
	res = victimSameIP.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("Retry-After %q, want 1", got)
	}
	e.advance(time.Second)
	mustStatus(t, victimSameIP.register(nil), sip.StatusOK, "")
}

// Guessing one extension's password from many addresses, with the (source, AOR)
// throttle off (--throttle-source-aor-failures=0): nothing tells sources apart, so
// after MaxFailures the AOR is blocked whatever the source; other AORs are
// unaffected; the block lifts. (With it on: guessing_test.go.)
func TestAORThrottleBlocksAnExtensionAfterFailures(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	for i := range 3 {
		a := e.device(testUser, "guess")
		a.src = fmt.Sprintf("203.0.113.%d:5060", i+1)
		mustStatus(t, a.register(nil), sip.StatusForbidden, "Forbidden")
	}
	owner := e.device(testUser, testPassword)
	res := owner.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"60"}) {
		t.Errorf("Retry-After %q, want 60", got)
	}
	if e.obs.throttleKind["aor"] == 0 {
		t.Errorf("throttles %v", e.obs.throttleKind)
	}
	// An unknown extension is throttled alike (no enumeration through the block).
	for i := range 3 {
		a := e.device("9999", "guess")
		a.src = fmt.Sprintf("203.0.113.%d:5060", i+10)
		a.register(nil)
	}
	ghost := e.device("9999", "guess")
	mustStatus(t, ghost.register(nil), sip.StatusForbidden, "Too Many Failed Attempts")

	mustStatus(t, e.device("1002", "another password").register(nil), sip.StatusOK, "")
	e.advance(time.Minute)
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
}

// Guessers cannot lock a registered device out: a source that holds a live binding of
// the AOR passes the AOR block, even with the (source, AOR) throttle off, when a new
// device elsewhere waits for it to lift.
func TestAORThrottleSparesTheRegisteredDevice(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	owner := e.device(testUser, testPassword)
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	for i := range 3 {
		a := e.device(testUser, "guess")
		a.src = fmt.Sprintf("203.0.113.%d:5060", i+1)
		mustStatus(t, a.register(nil), sip.StatusForbidden, "Forbidden")
	}
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	newcomer := e.device(testUser, testPassword)
	newcomer.src = "198.51.100.99:5060"
	mustStatus(t, newcomer.register(nil), sip.StatusForbidden, "Too Many Failed Attempts")
	// A guess from the owner's address is still judged (and fails): passing the
	// block is not passing authentication.
	spoof := e.device(testUser, "guess")
	spoof.src = owner.src
	mustStatus(t, spoof.register(nil), sip.StatusForbidden, "Forbidden")
}

func TestRetryAfterRoundsUp(t *testing.T) {
	req := msg{ruri: "sip:" + testDomain, to: "<sip:1@" + testDomain + ">", from: "<sip:1@" + testDomain + ">", callID: "c", cseq: 1, src: testSource, transport: "UDP"}.request(t)
	for after, want := range map[time.Duration]string{
		time.Minute:                           "60",
		59*time.Second + time.Millisecond:     "60",
		59*time.Second + 600*time.Millisecond: "60",
		time.Millisecond:                      "1",
	} {
		if got := throttled(req, after).GetHeader("Retry-After").Value(); got != want {
			t.Errorf("Retry-After for %v = %s, want %s", after, got, want)
		}
	}
}
