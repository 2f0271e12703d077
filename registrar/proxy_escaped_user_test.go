package registrar_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A MESSAGE to sip:%31001@domain reaches extension 1001: an escaped character is
// the character (RFC 3261 §19.1.4), as it is for 1001's REGISTER.
func TestProxyFindsAnEscapedCallee(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.MESSAGE, "sip:%31001@"+tn.domain, "hello"))
	got := dev.Expect(sip.MESSAGE)
	dev.Answer(got, sip.StatusOK, "OK")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("a MESSAGE to sip:%%31001@%s got %d %s, want the device's 200", tn.domain, res.StatusCode, res.Reason)
	}
}

// With --require-caller-auth, a caller whose From is sip:%31007@domain is
// extension 1007, and 1007's answer lets it through; before, its escaped name
// matched no credential and the answer got 403.
func TestProxyAuthenticatesAnEscapedCaller(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-auth-escaped", "127.0.0.97", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	udp, _ := r.Addresses()
	caller := "sip:%31007@" + tn.domain
	res := invite(t, udp, caller, tn.domain)
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatalf("no challenge in %d %s: %v", res.StatusCode, res.Reason, err)
	}
	res = inviteWith(t, udp, caller, tn.domain, "Proxy-Authorization: "+inviteAnswer(t, tn, nonce, "sip:1007@"+tn.domain))
	if res.StatusCode != sip.StatusTemporarilyUnavailable {
		t.Errorf("1007's answer from %s: got %d %s, want 480 (let through; nothing registered)", caller, res.StatusCode, res.Reason)
	}
}
