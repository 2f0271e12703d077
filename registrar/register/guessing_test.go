package register

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/guard"
)

// guesserAt is a device with a wrong password for user at the address src.
func (e *env) guesserAt(user, src string) *device {
	d := e.device(user, "guess")
	d.src = src
	return d
}

// Guessing spread over many addresses spends the extension's failure budget; then
// the addresses that failed are refused, while a new device at an address that
// never failed registers as usual. When the budget's block lifts, the guessers are
// judged again.
func TestAORBudgetHoldsBackOnlyTheSourcesThatFailed(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	e.throttlePairs(100)
	var guessers []*device
	for i := range 3 {
		g := e.guesserAt(testUser, fmt.Sprintf("203.0.113.%d:5060", i+1))
		mustStatus(t, g.register(nil), sip.StatusForbidden, "Forbidden")
		guessers = append(guessers, g)
	}
	e.advance(10 * time.Second)
	for _, g := range guessers {
		res := g.register(nil)
		mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
		if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"50"}) {
			t.Errorf("Retry-After %q, want 50: the extension's block", got)
		}
	}
	if e.obs.throttleKind[guard.KindAOR] != 3 {
		t.Errorf("throttles %v, want 3 of kind aor", e.obs.throttleKind)
	}

	newcomer := e.device(testUser, testPassword)
	newcomer.src = "198.51.100.99:5060"
	mustStatus(t, newcomer.register(nil), sip.StatusOK, "")
	// A new guesser is judged once, like any new address, and then held back.
	late := e.guesserAt(testUser, "203.0.113.50:5060")
	mustStatus(t, late.register(nil), sip.StatusForbidden, "Forbidden")
	mustStatus(t, late.register(nil), sip.StatusForbidden, "Too Many Failed Attempts")
	// An unknown extension is treated alike: the block tells nothing of which exist.
	for i := range 3 {
		mustStatus(t, e.guesserAt("9999", fmt.Sprintf("203.0.113.%d:5060", i+1)).register(nil), sip.StatusForbidden, "Forbidden")
	}
	mustStatus(t, e.guesserAt("9999", "203.0.113.1:5060").register(nil), sip.StatusForbidden, "Too Many Failed Attempts")
	mustStatus(t, e.guesserAt("9999", "203.0.113.77:5060").register(nil), sip.StatusForbidden, "Forbidden")

	e.advance(50 * time.Second)
	mustStatus(t, guessers[0].register(nil), sip.StatusForbidden, "Forbidden")
}

// A device that failed at its extension, a wrong password typed once, and then
// finds the extension under attack waits for the extension's block to lift.
func TestAORBudgetHoldsBackADeviceThatFailedUntilTheBlockLifts(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	e.throttlePairs(100)
	phone := e.device(testUser, "typo")
	phone.src = "198.51.100.7:5060"
	mustStatus(t, phone.register(nil), sip.StatusForbidden, "Forbidden")
	for i := range 2 {
		mustStatus(t, e.guesserAt(testUser, fmt.Sprintf("203.0.113.%d:5060", i+1)).register(nil), sip.StatusForbidden, "Forbidden")
	}
	phone.password = testPassword
	res := phone.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"60"}) {
		t.Errorf("Retry-After %q, want 60", got)
	}
	e.advance(time.Minute)
	mustStatus(t, phone.register(nil), sip.StatusOK, "")
}

// One address that keeps failing at one extension is blocked there, for the pair's
// block, whatever the extension's budget; it may still register other extensions,
// and other addresses may still register this one.
func TestSourceAORThrottleBlocksOneAddressAtOneExtension(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 100)
	e.throttlePairs(3)
	const src = "203.0.113.1:5060"
	g := e.guesserAt(testUser, src)
	for range 3 {
		mustStatus(t, g.register(nil), sip.StatusForbidden, "Forbidden")
	}
	right := e.device(testUser, testPassword)
	right.src = src
	res := right.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"600"}) {
		t.Errorf("Retry-After %q, want 600", got)
	}
	if e.obs.throttleKind[guard.KindSourceAOR] != 1 {
		t.Errorf("throttles %v, want 1 of kind source_aor", e.obs.throttleKind)
	}
	other := e.device("1002", "another password")
	other.src = src
	mustStatus(t, other.register(nil), sip.StatusOK, "")
	elsewhere := e.device(testUser, testPassword)
	elsewhere.src = "198.51.100.20:5060"
	mustStatus(t, elsewhere.register(nil), sip.StatusOK, "")

	e.advance(10 * time.Minute)
	mustStatus(t, right.register(nil), sip.StatusOK, "")
}

// Wrong answers forged from a registered device's address (UDP) block that address
// at the extension, but the device holds a binding from there: it keeps registering.
func TestSourceAORThrottleSparesTheRegisteredDevice(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 100)
	e.throttlePairs(3)
	owner := e.device(testUser, testPassword)
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	forged := e.guesserAt(testUser, owner.src)
	for range 3 {
		mustStatus(t, forged.register(nil), sip.StatusForbidden, "Forbidden")
	}
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	// Passing the block is not passing authentication.
	mustStatus(t, forged.register(nil), sip.StatusForbidden, "Forbidden")
}

// spendBudget makes three guessers at user fail once each: with e.throttle(_, 3),
// user's failure budget is spent for a minute.
func (e *env) spendBudget(user string) {
	e.t.Helper()
	for i := range 3 {
		mustStatus(e.t, e.guesserAt(user, fmt.Sprintf("203.0.113.%d:5060", i+1)).register(nil), sip.StatusForbidden, "Forbidden")
	}
}

// forge answers the challenge d received at its own address, sent as if from src.
func (d *device) forge(src string) *sip.Response {
	d.e.t.Helper()
	if d.ch == nil {
		mustStatus(d.e.t, d.send(d.next()), sip.StatusProxyAuthRequired, "")
	}
	ch := *d.ch
	d.src = src
	m := d.next()
	d.sign(&m)
	res := d.send(m)
	d.ch = &ch // the forger never sees an answer sent to src
	return res
}

// Over UDP a source address can be forged, and a nonce fetched at one address
// used from another. While the extension's budget is spent, an answer from an
// address that never failed is judged only with a nonce issued to that address:
// a forger's answers are challenged, never judged, never counted.
func TestAORBudgetJudgesACleanSourceOnlyWithANonceIssuedToIt(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	e.throttlePairs(100)
	e.spendBudget(testUser)
	wrong := e.obs.failures["wrong_credentials"]
	forger := e.device(testUser, testPassword) // even the right password is not judged
	forger.src = "203.0.113.200:5060"
	for i := range 20 {
		res := forger.forge(fmt.Sprintf("198.51.100.%d:5060", i+1))
		mustStatus(t, res, sip.StatusProxyAuthRequired, "")
		if !challenges(t, res)[0].stale {
			t.Fatal("the challenge to a clean source lacks stale=true: a device would ask its user")
		}
	}
	if got := e.obs.failures["wrong_credentials"]; got != wrong {
		t.Errorf("forged answers were judged: %d wrong credentials, want %d", got, wrong)
	}
	if n := len(e.bindings(testUser)); n != 0 {
		t.Errorf("%d bindings from forged answers", n)
	}
	// A nonce bound to one address is no good from another.
	bound := e.device(testUser, testPassword)
	bound.src = "198.51.100.100:5060"
	mustStatus(t, bound.send(bound.next()), sip.StatusProxyAuthRequired, "")
	m := bound.next()
	bound.sign(&m)
	mustStatus(t, bound.send(m), sip.StatusProxyAuthRequired, "") // the nonce bound to .100
	res := bound.forge("198.51.100.101:5060")
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	if challenges(t, res)[0].stale {
		t.Error("a nonce bound to another address was taken as only stale")
	}
	// The device that does receive at its address registers with one more round trip,
	// and keeps its bound nonce once the block has lifted.
	device := e.device(testUser, testPassword)
	device.src = "198.51.100.200:5060"
	mustStatus(t, device.register(nil), sip.StatusOK, "")
	e.advance(time.Minute)
	m = device.next()
	device.sign(&m)
	mustStatus(t, device.send(m), sip.StatusOK, "")
}

// A forger that borrows a registered device's address passes the extension's
// block, but is judged only with a nonce sent to that address, which it never sees.
func TestAORBudgetJudgesTheRegisteredDeviceOnlyWithANonceIssuedToIt(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	e.throttlePairs(100)
	owner := e.device(testUser, testPassword)
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	e.spendBudget(testUser)
	wrong := e.obs.failures["wrong_credentials"]
	forger := e.guesserAt(testUser, "203.0.113.200:5060")
	for range 20 {
		mustStatus(t, forger.forge(owner.src), sip.StatusProxyAuthRequired, "")
	}
	if got := e.obs.failures["wrong_credentials"]; got != wrong {
		t.Errorf("forged answers were judged: %d wrong credentials, want %d", got, wrong)
	}
	// The owner refreshes with one more round trip (stale=true, no user involved).
	res := owner.register(nil)
	mustStatus(t, res, sip.StatusOK, "")
}
