package registrar_test

import (
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A replica is no open relay: an INVITE or MESSAGE on a route pre-loaded through
// it, to a third party, is refused 403 Relaying Denied and nothing reaches the
// third party, whether the route names the replica or the domain, and whether its
// From names a stranger or (unauthenticated, so only a claim) one of our
// extensions; an ACK without a To tag is dropped. The metric counts each attempt.
// A request on such a route to a device registered with the replica still reaches
// it.
func TestPreloadedRouteRelaysNothingToAThirdParty(t *testing.T) {
	tn := newTenant(t, "1001")
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startExtraReplica(t, "replica-relay", "127.0.0.70", tn, func(c *registrar.Config) { c.MetricsAddress = metrics })
	udp := addressOf(r)
	third := siptest.NewUDP(t, "127.0.0.72", udp, siptest.Account{User: "bob", Domain: "example.net"})
	received := third.AnswerAll()
	target := "sip:bob@" + third.LocalAddr().String()

	callers := map[string]siptest.Account{
		"a stranger":              {User: "mallory", Domain: "example.org"},
		"a caller posing as 1001": {User: tn.user, Domain: tn.domain},
	}
	routes := map[string]string{"the replica": "sip:" + udp + ";lr", "the domain": "sip:" + tn.domain + ";lr"}
	methods := []sip.RequestMethod{sip.INVITE, sip.MESSAGE}
	for who, acct := range callers {
		caller := siptest.NewUDP(t, "127.0.0.1", udp, acct)
		for via, route := range routes {
			for _, m := range methods {
				caller.Send(caller.Request(m, target, "", "Route: <"+route+">"))
				res, err := caller.TryFinal(wait)
				if err != nil {
					t.Fatalf("%s from %s through %s: %v", m, who, via, err)
				}
				if res.StatusCode != sip.StatusForbidden || res.Reason != "Relaying Denied" {
					t.Errorf("%s from %s through %s got %d %s, want 403 Relaying Denied", m, who, via, res.StatusCode, res.Reason)
				}
			}
		}
	}
	// An ACK gets no answer: the metric says when the replica has judged it.
	ack := siptest.NewUDP(t, "127.0.0.1", udp, callers["a stranger"])
	ack.Send(ack.Request(sip.ACK, target, "", "Route: <"+routes["the replica"]+">"))
	metricsShow(t, metrics, `sip_proxy_requests_total{method="ACK",outcome="relay_denied"} 1`)
	// Every refusal is in: anything relayed would have left before it.
	if n := received.Count(sip.ACK); n != 0 {
		t.Errorf("the third party received %d ACK", n)
	}
	for _, m := range methods {
		if n := received.Count(m); n != 0 {
			t.Errorf("the third party received %d %s", n, m)
		}
		metricsShow(t, metrics, `sip_proxy_requests_total{method="`+m.String()+`",outcome="relay_denied"} `+
			strconv.Itoa(len(callers)*len(routes)))
	}

	t.Run("a device we hold is still reached", func(t *testing.T) {
		device := udpPhone(t, tn, "127.0.0.1", udp)
		device.MustRegister(600)
		caller := siptest.NewUDP(t, "127.0.0.1", udp, callers["a stranger"])
		contact := "sip:" + tn.user + "@" + device.LocalAddr().String()
		caller.Send(caller.Request(sip.MESSAGE, contact, "hello", "To: <sip:"+tn.aor()+">", "Route: <sip:"+udp+";lr>"))
		if _, err := receiveOK(device, wait); err != nil {
			t.Fatalf("the MESSAGE to the device's Contact did not reach it: %v", err)
		}
		if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
			t.Errorf("the MESSAGE to the device got %d %s, want 200", res.StatusCode, res.Reason)
		}
	})
}

// With --require-caller-auth, an extension that answers the challenge may reach a
// third party through a pre-loaded route (the replica is its outbound proxy); a
// stranger still may not.
func TestAuthenticatedExtensionMayRelayToAThirdParty(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startExtraReplica(t, "replica-relay-auth", "127.0.0.71", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	udp := addressOf(r)
	third := siptest.NewUDP(t, "127.0.0.73", udp, siptest.Account{User: "bob", Domain: "example.net"})
	received := third.AnswerAll()
	target := "sip:bob@" + third.LocalAddr().String()
	route := "Route: <sip:" + udp + ";lr>"

	stranger := siptest.NewUDP(t, "127.0.0.1", udp, siptest.Account{User: "mallory", Domain: "example.org"})
	stranger.Send(stranger.Request(sip.MESSAGE, target, "hello", route))
	if res := stranger.Final(wait); res.StatusCode != sip.StatusForbidden || res.Reason != "Relaying Denied" {
		t.Errorf("the stranger got %d %s, want 403 Relaying Denied", res.StatusCode, res.Reason)
	}
	if n := received.Count(sip.MESSAGE); n != 0 {
		t.Fatalf("the stranger's MESSAGE reached the third party (%d)", n)
	}

	// A From of the domain whose user has a malformed escape names no extension:
	// refused, not taken for a caller that passed the challenge.
	escaped := siptest.NewUDP(t, "127.0.0.1", udp, siptest.Account{User: "%zz", Domain: tn.domain})
	escaped.Send(escaped.Request(sip.MESSAGE, target, "hello", route))
	if res := escaped.Final(wait); res.StatusCode != sip.StatusBadRequest {
		t.Errorf("a caller sip:%%zz@%s got %d %s, want 400", tn.domain, res.StatusCode, res.Reason)
	}
	if n := received.Count(sip.MESSAGE); n != 0 {
		t.Fatalf("the MESSAGE from sip:%%zz@%s reached the third party (%d)", tn.domain, n)
	}

	ext := siptest.NewUDP(t, "127.0.0.1", udp, tn.account())
	ext.Send(ext.Request(sip.MESSAGE, target, "hello", route))
	res := ext.Final(wait)
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatalf("the extension was not challenged: %d %s: %v", res.StatusCode, res.Reason, err)
	}
	answer, err := tn.account().Authorization(sipv1.DigestMD5, sip.MESSAGE, target, nonce, 1)
	if err != nil {
		t.Fatal(err)
	}
	ext.Send(ext.Request(sip.MESSAGE, target, "hello", route, "Proxy-Authorization: "+answer))
	if res := ext.Final(wait); res.StatusCode != sip.StatusOK {
		t.Fatalf("the authenticated extension got %d %s, want 200 from the third party", res.StatusCode, res.Reason)
	}
	if n := received.Count(sip.MESSAGE); n != 1 {
		t.Errorf("the third party received %d MESSAGEs, want the extension's one", n)
	}
}
