// REGISTER nonces: foreign signers, expiry and stale=true, replay, replicas sharing the key.

package register

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
)

// A nonce not signed with the cluster's key (or garbage) earns a new challenge,
// without stale=true: stale would tell the client to retry silently.
func TestNonceFromAnotherSignerIsChallengedWithoutStale(t *testing.T) {
	for _, tc := range []struct{ name, nonce string }{
		{"other key", digest.NewNonceSigner(otherKey, 0).Issue(testDomain, t0)},
		{"other realm", digest.NewNonceSigner(testKey, 0).Issue(otherDomain, t0)},
		{"garbage", "not-a-nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.ch = &challenge{realm: testDomain, nonce: tc.nonce, algorithm: sipv1.DigestMD5}
			m := d.next()
			d.sign(&m)
			res := d.send(m)
			mustStatus(t, res, sip.StatusProxyAuthRequired, "")
			if ch := challenges(t, res)[0]; ch.stale || ch.nonce == tc.nonce {
				t.Errorf("challenge %+v: want a new nonce without stale", ch)
			}
			if e.obs.failures["bad_nonce"] != 1 {
				t.Errorf("failures %v", e.obs.failures)
			}
		})
	}
}

// An expired nonce with the right password earns stale=true (retry without asking
// the user); with a wrong password it is 403, so stale does not confirm a guess.
func TestExpiredNonce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
		code     int
		stale    bool
		outcome  string
	}{
		{"right password: 407 stale=true", testPassword, sip.StatusProxyAuthRequired, true, OutcomeStaleNonce},
		{"wrong password: 403", "guess", sip.StatusForbidden, false, OutcomeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, tc.password)
			d.send(d.next())
			old := d.ch.nonce
			e.advance(digest.DefaultNonceLifetime + time.Second)
			m := d.next()
			d.sign(&m)
			res := d.send(m)
			mustStatus(t, res, tc.code, "")
			if e.obs.lastOutcome() != tc.outcome {
				t.Errorf("outcome %q, want %q", e.obs.lastOutcome(), tc.outcome)
			}
			if !tc.stale {
				return
			}
			ch := challenges(t, res)[0]
			if !ch.stale || ch.nonce == old {
				t.Fatalf("challenge %+v: want stale=true with a new nonce", ch)
			}
			m = d.next()
			d.sign(&m)
			mustStatus(t, d.send(m), sip.StatusOK, "")
		})
	}
}

// registered is a device that has registered: the bytes of its signed REGISTER and
// the 200 OK they got.
func registered(t *testing.T, e *env) (*device, []byte, *sip.Response) {
	t.Helper()
	d := e.device(testUser, testPassword)
	d.send(d.next())
	m := d.next()
	d.sign(&m)
	raw := m.bytes()
	res := e.reg.Handle(parseRequest(t, raw, testSource, "UDP"))
	mustStatus(t, res, sip.StatusOK, "")
	return d, raw, res
}

// A nonce count used twice is a replay (RFC 7616 §3.4.5): refused with a challenge.
func TestNonceCountReplayIsChallenged(t *testing.T) {
	e := newEnv(t)
	d, raw, _ := registered(t, e)

	// The same bytes again, as an eavesdropper would send them.
	res := e.reg.Handle(parseRequest(t, raw, "203.0.113.66:5060", "UDP"))
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	if e.obs.failures["replay"] != 1 {
		t.Errorf("failures %v", e.obs.failures)
	}
	// The same nonce and nc in a new request (new CSeq, same nc) too.
	m2 := d.next()
	d.nc-- // reuse the count
	d.sign(&m2)
	mustStatus(t, e.reg.Handle(m2.request(t)), sip.StatusProxyAuthRequired, "")
	// A higher count is fine.
	m3 := d.next()
	d.sign(&m3)
	mustStatus(t, e.reg.Handle(m3.request(t)), sip.StatusOK, "")
}

// Replicas share the nonce key: a nonce issued by one is accepted by another.
func TestNonceFromAnotherReplicaWithTheSameKeyIsAccepted(t *testing.T) {
	e := newEnv(t)
	b := e.newReplica(testKey)
	d := e.device(testUser, testPassword)
	d.send(d.next()) // challenged by replica A
	d.reg = b
	m := d.next()
	d.sign(&m)
	mustStatus(t, d.send(m), sip.StatusOK, "")
	if got := b.table.Lookup(testUser+"@"+testDomain, e.now); len(got) != 1 {
		t.Errorf("replica B holds %d bindings", len(got))
	}
	// Replica C with another key does not.
	c := e.newReplica(otherKey)
	d.reg = c
	m = d.next()
	d.sign(&m)
	res := d.send(m)
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	if challenges(t, res)[0].stale {
		t.Error("stale=true for a foreign nonce")
	}
}

// A retransmission of a REGISTER answered 200 OK (the UDP front end knows it, once its
// cache has let the answer go) is answered 200 OK again by Reconfirm: the same To
// tag, the bindings as they are now, and nothing counted or applied again; the same
// bytes through Handle would be a replayed nonce count.
func TestReconfirmAnswersARetransmissionAgain(t *testing.T) {
	e := newEnv(t)
	_, raw, first := registered(t, e)
	before := e.bindings(testUser)

	e.advance(10 * time.Second)
	again := e.reg.Reconfirm(parseRequest(t, raw, testSource, "UDP"), len(raw))
	mustStatus(t, again, sip.StatusOK, "")
	if got, want := again.To().Params, first.To().Params; got.String() != want.String() {
		t.Errorf("To params %q, want the first answer's %q", got.String(), want.String())
	}
	if got, want := again.GetHeaders("Contact"), first.GetHeaders("Contact"); len(got) != len(want) || len(got) != 1 {
		t.Fatalf("Contacts %v, want the one binding as in %v", got, want)
	}
	if c := again.GetHeaders("Contact")[0].Value(); !strings.Contains(c, "expires=3590") {
		t.Errorf("Contact %q: want the binding's remaining expiry, 10 s less", c)
	}
	after := e.bindings(testUser)
	if len(after) != len(before) || !after[0].RegisteredAt.Equal(before[0].RegisteredAt) {
		t.Errorf("bindings %+v after Reconfirm, want them untouched: %+v", after, before)
	}
	if len(e.obs.failures) != 0 {
		t.Errorf("Reconfirm counted failures %v", e.obs.failures)
	}
	if res := e.reg.Handle(parseRequest(t, raw, testSource, "UDP")); res.StatusCode != sip.StatusProxyAuthRequired {
		t.Errorf("the same bytes through Handle: %d, want 407 (the nonce count is spent)", res.StatusCode)
	}
}
