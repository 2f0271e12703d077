package registrar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// callerAnswer sends tn's caller's INVITE from localIP to target, answers the 407
// with password, and returns the response to the answer.
func callerAnswer(t *testing.T, tn *tenant, localIP, target, password string) *sip.Response {
	t.Helper()
	caller := "sip:" + tn.user + "@" + tn.domain
	res := inviteFrom(t, localIP, target, caller, tn.domain, "")
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	return callerAnswerTo(t, tn, localIP, target, nonce, password)
}

// callerAnswerTo sends tn's caller's INVITE from localIP to target with an answer
// to nonce computed with password, and returns the response.
func callerAnswerTo(t *testing.T, tn *tenant, localIP, target, nonce, password string) *sip.Response {
	t.Helper()
	answering := *tn
	answering.password = password
	return inviteFrom(t, localIP, target, "sip:"+tn.user+"@"+tn.domain, tn.domain,
		"Proxy-Authorization: "+inviteAnswer(t, &answering, nonce, "sip:1007@"+tn.domain))
}

// mustBeThrottled fails unless res is the 403 with Retry-After a throttled source gets.
func mustBeThrottled(t *testing.T, res *sip.Response, what string) {
	t.Helper()
	if res.StatusCode != sip.StatusForbidden || res.Reason != "Too Many Failed Attempts" || res.GetHeader("Retry-After") == nil {
		t.Errorf("%s: got %d %s (Retry-After %v), want 403 Too Many Failed Attempts with Retry-After",
			what, res.StatusCode, res.Reason, res.GetHeader("Retry-After"))
	}
}

// Guessing a caller's password through INVITE counts against the throttles that
// hold REGISTER back (one guard, one set of tables): once the guesser's address is
// blocked at the extension, its answers are refused even with the right password, and
// so is its REGISTER of the extension; a device of the extension at a clean address
// still calls and registers.
func TestGuessingThroughCallsIsThrottledAsRegisterIs(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-guess-pair", "127.0.0.50", tn, func(c *registrar.Config) {
		c.RequireCallerAuth = true
		c.BySourceAOR = throttle.Config{MaxFailures: 3, Window: 10 * time.Minute, BlockFor: 10 * time.Minute}
	})
	udp, _ := r.Addresses()
	const guesser, clean = "127.0.0.51", "127.0.0.52"

	for i := range 3 {
		if res := callerAnswer(t, tn, guesser, udp, "guess"); res.StatusCode != sip.StatusForbidden || res.Reason != "Forbidden" {
			t.Fatalf("wrong answer %d: got %d %s, want 403 Forbidden", i+1, res.StatusCode, res.Reason)
		}
	}
	mustBeThrottled(t, callerAnswer(t, tn, guesser, udp, tn.password), "the right password from the guesser's address")

	phone := udpPhone(t, tn, guesser, udp)
	res, err := phone.Register("", 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = phone.Register(nonce, 1, 60); err != nil {
		t.Fatal(err)
	}
	mustBeThrottled(t, res, "a REGISTER with the right password from the guesser's address")

	// Called before it registers: a call to itself would ring its own phone.
	if res := callerAnswer(t, tn, clean, udp, tn.password); res.StatusCode != sip.StatusTemporarilyUnavailable {
		t.Errorf("a call from a clean address: got %d %s, want 480 (let through; nothing registered)", res.StatusCode, res.Reason)
	}
	if _, _, err := udpPhone(t, tn, clean, udp).Authenticated(60); err != nil {
		t.Errorf("a REGISTER from a clean address: %v", err)
	}
}

// Wrong answers to call challenges count against the per-address throttle too: the
// address is then refused before any digest work, for calls and REGISTERs alike.
func TestGuessingThroughCallsBlocksTheAddress(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-guess-source", "127.0.0.53", tn, func(c *registrar.Config) {
		c.RequireCallerAuth = true
		c.BySource = throttle.Config{MaxFailures: 3, Window: time.Minute, BlockFor: time.Minute}
	})
	udp, _ := r.Addresses()
	const guesser = "127.0.0.54"
	caller := "sip:1007@" + tn.domain

	for i := range 3 {
		if res := callerAnswer(t, tn, guesser, udp, "guess"); res.StatusCode != sip.StatusForbidden || res.Reason != "Forbidden" {
			t.Fatalf("wrong answer %d: got %d %s, want 403 Forbidden", i+1, res.StatusCode, res.Reason)
		}
	}
	res := inviteFrom(t, guesser, udp, caller, tn.domain, "")
	mustBeThrottled(t, res, "an INVITE from the blocked address")
	phone := udpPhone(t, tn, guesser, udp)
	res, err := phone.Register("", 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	mustBeThrottled(t, res, "a REGISTER from the blocked address")
	res = inviteFrom(t, "127.0.0.55", udp, caller, tn.domain, "")
	if res.StatusCode != sip.StatusProxyAuthRequired {
		t.Errorf("an INVITE from another address: got %d %s, want 407", res.StatusCode, res.Reason)
	}
}

// Once wrong answers to call challenges spent the extension's failure budget, a
// caller at an address that never failed is judged only on a nonce issued to its
// address, as a REGISTER is: its answer draws a 407 with stale=true and a bound
// nonce, which is good from that address and from no other (a forged UDP source never
// receives it).
func TestSpentBudgetJudgesACleanCallerOnlyWithANonceIssuedToIt(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-guess-bound", "127.0.0.56", tn, func(c *registrar.Config) {
		c.RequireCallerAuth = true
		c.ByAOR = throttle.Config{MaxFailures: 2, Window: 10 * time.Minute, BlockFor: 10 * time.Minute}
		c.BySourceAOR = throttle.Config{MaxFailures: 10, Window: 10 * time.Minute, BlockFor: 10 * time.Minute}
	})
	udp, _ := r.Addresses()
	const clean, forger = "127.0.0.59", "127.0.0.60"
	for _, guesser := range []string{"127.0.0.57", "127.0.0.58"} {
		if res := callerAnswer(t, tn, guesser, udp, "guess"); res.StatusCode != sip.StatusForbidden || res.Reason != "Forbidden" {
			t.Fatalf("wrong answer from %s: got %d %s, want 403 Forbidden", guesser, res.StatusCode, res.Reason)
		}
	}
	mustBeThrottled(t, callerAnswer(t, tn, "127.0.0.57", udp, tn.password), "a guesser's right answer while the budget is spent")

	res := callerAnswer(t, tn, clean, udp, tn.password)
	bound, err := siptest.Nonce(res)
	if err != nil || res.StatusCode != sip.StatusProxyAuthRequired || !strings.Contains(res.GetHeader("Proxy-Authenticate").Value(), "stale=true") {
		t.Fatalf("a clean caller's right answer: got %d %s (%v), want 407 with stale=true", res.StatusCode, res.Reason, err)
	}
	if res := callerAnswerTo(t, tn, forger, udp, bound, tn.password); res.StatusCode != sip.StatusProxyAuthRequired {
		t.Errorf("the bound nonce answered from another address: got %d %s, want 407 (a nonce it may not use)", res.StatusCode, res.Reason)
	}
	if res := callerAnswerTo(t, tn, clean, udp, bound, tn.password); res.StatusCode != sip.StatusTemporarilyUnavailable {
		t.Errorf("the bound nonce answered from its address: got %d %s, want 480 (let through; nothing registered)", res.StatusCode, res.Reason)
	}
}
