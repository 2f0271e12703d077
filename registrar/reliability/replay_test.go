package reliability_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A REGISTER captured on the wire gets nothing when replayed, at the replica that
// answered it (its nonce count was used) or at another one (nonces are bound to the
// replica that issued them: another answers stale=true). Without the binding, the
// replay at the other replica would re-register the device there, from wherever the
// attacker sends, and keep the binding alive after the device removed it.
func TestCapturedRegisterReplayedAtAnotherReplicaGetsNothing(t *testing.T) {
	tn := newTenant(t, 1, 6000, 0)
	a, _ := startReplica(t, replicaConfig("replica-ra", "127.0.0.1"))
	b, _ := startReplica(t, replicaConfig("replica-rb", "127.0.0.1"))
	waitKnows(t, a, tn.aor("6000"))
	waitKnows(t, b, tn.aor("6000"))
	udpA, _ := a.Addresses()
	udpB, _ := b.Addresses()

	device := newUDPPhone(t, udpA, "127.0.0.1", "6000", tn.domain, tn.passwords["6000"])
	defer device.Close()
	if _, _, err := device.Authenticated(600); err != nil {
		t.Fatal(err)
	}
	captured := device.LastMessage
	tn.waitBindings(t, 1, wait)

	attacker := newUDPPhone(t, udpA, "127.0.0.9", "6000", tn.domain, "")
	defer attacker.Close()
	for _, at := range []struct{ name, target string }{{"the replica that answered it", udpA}, {"another replica", udpB}} {
		attacker.Target = at.target
		res, err := attacker.RoundTrip(captured)
		if err != nil {
			t.Fatalf("replay at %s: %v", at.name, err)
		}
		t.Logf("replay at %s: %d %s, stale=%v", at.name, res.StatusCode, res.Reason, siptest.IsStale(res))
		if res.StatusCode != 407 || !siptest.IsStale(res) {
			t.Errorf("replay at %s: %d %s, want 407 with stale=true (a new challenge, nothing registered)", at.name, res.StatusCode, res.Reason)
		}
	}
	// Nothing registered at B: its table is empty and status names only A.
	if got := b.Table().Lookup(tn.aor("6000"), time.Now()); len(got) != 0 {
		t.Errorf("replica B holds %d bindings after the replay", len(got))
	}
	for _, bs := range tn.waitBindings(t, 1, wait) {
		for _, bd := range bs {
			if bd.Registrar != "replica-ra" {
				t.Errorf("binding %s held by %s after the replay", bd.URI, bd.Registrar)
			}
		}
	}
	// The honest device that moves to B pays one round trip: stale=true, then 200.
	device.Target = udpB
	res, err := device.Register(nonceOf(t, captured), 2, 600)
	if err != nil || res.StatusCode != 407 || !siptest.IsStale(res) {
		t.Fatalf("device at B with A's nonce: %v %v, want 407 with stale=true", res, err)
	}
	n, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = device.Register(n, 1, 600); err != nil || res.StatusCode != 200 {
		t.Fatalf("device at B with B's nonce: %v %v", res, err)
	}
}

// nonceOf returns the nonce a REGISTER answered.
func nonceOf(t *testing.T, msg []byte) string {
	t.Helper()
	m, err := sip.ParseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := digest.ParseCredentials(siptest.HeaderValue(m.(*sip.Request), "Authorization"))
	if err != nil || c.Nonce == "" {
		t.Fatalf("no nonce in %s: %v", msg, err)
	}
	return c.Nonce
}
