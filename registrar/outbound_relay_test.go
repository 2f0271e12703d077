package registrar_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A route to a replica's flow that names the AOR but carries no good signature is
// what anyone who reaches the replica could write: it is no relay. With
// --require-caller-auth its caller, an extension of the domain, is challenged and
// nothing reaches the device; a request another replica relays still does.
func TestForgedFlowRouteIsChallengedAndReachesNoDevice(t *testing.T) {
	tn := newTenant(t, "1001")
	holder := startExtraReplica(t, "replica-flow-auth", "127.0.0.61", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	_, tcp := holder.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	p.MustRegister(600)
	b := bindingsAre(t, tn, 1)[0]
	var route sip.Uri
	if err := sip.ParseUri(b.FlowRoute, &route); err != nil {
		t.Fatalf("flow route %q: %v", b.FlowRoute, err)
	}
	route.User = url.QueryEscape(tn.aor())
	caller := siptest.NewUDP(t, "127.0.0.1", addressOf(holder), tn.account())
	for _, tc := range []struct{ name, sig string }{
		{"without a signature", ""},
		{"with a made-up signature", strings.Repeat("A", digest.TokenLen)},
	} {
		forged := *route.Clone()
		if tc.sig != "" {
			forged.UriParams.Add("sig", tc.sig)
		}
		caller.Send(caller.Request(sip.MESSAGE, b.URI, "hello", "Route: <"+forged.String()+">"))
		res, err := caller.TryFinal(5 * time.Second)
		if err != nil {
			if req, rerr := receiveOK(p, time.Second); rerr == nil {
				t.Fatalf("%s: the forged route took a %s to the device", tc.name, req.Method)
			}
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.StatusCode != sip.StatusProxyAuthRequired || res.GetHeader("Proxy-Authenticate") == nil {
			t.Errorf("%s: got %d %s, want 407 with Proxy-Authenticate", tc.name, res.StatusCode, res.Reason)
		}
	}

	routable(t, replicaB, tn, 1)
	relaying := siptest.NewUDP(t, "127.0.0.1", addressOf(replicaB), tn.account())
	msg := relaying.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello")
	relaying.Send(msg)
	req, err := receiveOK(p, 5*time.Second)
	if err != nil {
		t.Fatalf("the MESSAGE relayed by the other replica did not reach the flow: %v", err)
	}
	// The first request the device gets: neither forged one came before it.
	if req.CallID().Value() != msg.CallID().Value() {
		t.Fatalf("the device got %s %s, not the relayed MESSAGE", req.Method, req.CallID().Value())
	}
	if res := relaying.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("the relayed MESSAGE got %d %s", res.StatusCode, res.Reason)
	}
}

// A call relayed to the replica holding the callee's flow keeps that replica on
// the dialog's route (it record-routes): the caller's in-dialog requests reach the
// device over its flow, and the device's, sent over its flow, reach the caller.
func TestOutboundDialogAcrossReplicasRunsOverTheFlow(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	p.MustRegister(600)
	routable(t, replicaB, tn, 1)
	caller := newCaller(t, replicaB)

	t.Run("the caller hangs up", func(t *testing.T) {
		ok, _ := answeredCall(t, caller, p, tn)
		caller.Send(caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
		req, err := receiveOK(p, 5*time.Second)
		if err != nil || req.Method != sip.BYE {
			t.Fatalf("the caller's BYE did not come over the flow: %v %v", req, err)
		}
		if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
			t.Errorf("the caller's BYE got %d %s", res.StatusCode, res.Reason)
		}
	})
	t.Run("the device hangs up", func(t *testing.T) {
		_, inv := answeredCall(t, caller, p, tn)
		p.Send(p.Bye(inv))
		req, err := caller.NextRequest(5 * time.Second)
		if err != nil || req.Method != sip.BYE {
			var res *sip.Response
			if m, rerr := p.Next(time.Second); rerr == nil {
				res, _ = m.Message.(*sip.Response)
			}
			t.Fatalf("the device's BYE did not reach the caller: %v (the device got %v)", err, res)
		}
		caller.Reply(req, sip.StatusOK, "OK")
		m, err := p.Next(5 * time.Second)
		if err != nil {
			t.Fatalf("no answer to the device's BYE over its flow: %v", err)
		}
		if res, ok := m.Message.(*sip.Response); !ok || res.StatusCode != sip.StatusOK {
			t.Errorf("the device's BYE got %v, want 200", m.Message)
		}
	})
}

// answeredCall has caller call the device p answers as, over its flow: it answers
// 200 with its Contact, the caller ACKs along the Record-Route, and the ACK comes
// over the flow. It returns the caller's 200 and the device's INVITE.
func answeredCall(t *testing.T, caller, p *siptest.Phone, tn *tenant) (*sip.Response, siptest.Received) {
	t.Helper()
	caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))
	inv, err := p.NextRequest(5 * time.Second)
	if err != nil || inv.Method != sip.INVITE {
		t.Fatalf("the INVITE did not come over the flow: %v %v", inv.Request, err)
	}
	p.Answer(inv, sip.StatusOK, "OK")
	ok := caller.Final(5 * time.Second)
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want 200", ok.StatusCode, ok.Reason)
	}
	caller.Send(caller.AckOf(ok))
	if ack, err := p.NextRequest(5 * time.Second); err != nil || ack.Method != sip.ACK {
		t.Fatalf("the ACK did not come over the flow: %v %v", ack.Request, err)
	}
	return ok, inv
}

// receiveOK returns the next request over p's flow, answered 200 OK.
func receiveOK(p *siptest.Phone, within time.Duration) (siptest.Received, error) {
	req, err := p.NextRequest(within)
	if err == nil {
		p.Reply(req, sip.StatusOK, "OK")
	}
	return req, err
}

// addressOf is where replica r takes SIP over UDP.
func addressOf(r *registrar.Replica) string {
	udp, _ := r.Addresses()
	return udp
}
