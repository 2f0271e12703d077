package registrar_test

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A desk phone on TCP or TLS without outbound (no reg-id, as Yealink, Polycom
// and Grandstream register) behind a NAT: its Contact takes no connection, here
// a *.invalid host nobody resolves. Only the replica that accepted its
// connection reaches it; the other relays requests there.

// natContact is the Contact of tn's phone behind a NAT, over transport.
func natContact(tn *tenant, transport string) string {
	return "<sip:" + tn.user + "@desk-phone.nat.invalid:5060;transport=" + transport + ">"
}

// deskPhone is tn's phone registered without outbound over a TCP connection to
// holder, with a Contact behind a NAT.
func deskPhone(t *testing.T, tn *tenant, holder *registrar.Replica) *siptest.Phone {
	t.Helper()
	_, tcp := holder.Addresses()
	p := siptest.NewTCP(t, tcp, tn.account())
	p.Contact = natContact(tn, "tcp")
	p.MustRegister(600)
	return p
}

// relaysThrough checks that status names a route to holder for tn's only
// binding, a plain one (no instance, no reg-id).
func relaysThrough(t *testing.T, tn *tenant, holder string) sipv1.Binding {
	t.Helper()
	b := bindingsAre(t, tn, 1)[0]
	if b.Registrar != holder || b.FlowRoute == "" || b.Instance != "" || b.RegID != 0 {
		t.Errorf("binding %+v, want one without outbound held by %s, with a flowRoute", b, holder)
	}
	return b
}

// messageOverTheConnection has caller send a MESSAGE for tn, which must come
// down phone's connection; the phone's 200 reaches the caller.
func messageOverTheConnection(t *testing.T, caller, phone *siptest.Phone, tn *tenant) {
	t.Helper()
	caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
	if req, err := receiveOK(phone, wait); err != nil || req.Method != sip.MESSAGE {
		res, _ := caller.TryFinal(wait)
		t.Fatalf("the MESSAGE did not come over the phone's connection: %v (the caller got %v)", err, res)
	}
	if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
		t.Fatalf("the MESSAGE got %d %s, want the phone's 200", res.StatusCode, res.Reason)
	}
}

// A TCP phone without outbound registered at replica A, called through replica
// B: B relays the MESSAGE and the INVITE to A, which sends them over the phone's
// connection, instead of dialling its Contact; the caller gets the phone's 200.
// A record-routes, so the call's BYE, sent by the caller along its route set
// (B, then A), and the phone's BYE, over its connection, reach the other side.
func TestTCPPhoneWithoutOutboundIsReachedThroughTheOtherReplica(t *testing.T) {
	tn := newTenant(t, "1001")
	p := deskPhone(t, tn, replicaA)
	relaysThrough(t, tn, "replica-a")
	routable(t, replicaB, tn, 1)
	caller := newCaller(t, replicaB)

	messageOverTheConnection(t, caller, p, tn)
	t.Run("the caller hangs up", func(t *testing.T) {
		ok, _ := answeredCall(t, caller, p, tn)
		caller.Send(caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
		if req, err := receiveOK(p, wait); err != nil || req.Method != sip.BYE {
			t.Fatalf("the caller's BYE did not come over the phone's connection: %v %v", req.Request, err)
		}
		if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
			t.Errorf("the caller's BYE got %d %s", res.StatusCode, res.Reason)
		}
	})
	t.Run("the phone hangs up", func(t *testing.T) {
		_, inv := answeredCall(t, caller, p, tn)
		p.Send(p.Bye(inv))
		bye, err := caller.NextRequest(wait)
		if err != nil || bye.Method != sip.BYE {
			t.Fatalf("the phone's BYE did not reach the caller: %v %v", bye.Request, err)
		}
		caller.Reply(bye, sip.StatusOK, "OK")
		if res := p.Final(wait); res.StatusCode != sip.StatusOK {
			t.Errorf("the phone's BYE got %d %s, want the caller's 200", res.StatusCode, res.Reason)
		}
	})
}

// The same over TLS: the replica holding the phone's TLS connection sends the
// relayed MESSAGE down it. Nobody verifies a certificate of the phone's, which
// it does not have.
func TestTLSPhoneWithoutOutboundIsReachedThroughTheOtherReplica(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls-relay", tn, 0)
	p := newTLSPhone(t, r, tn)
	p.Contact = natContact(tn, "tls")
	p.MustRegister(600)
	if b := relaysThrough(t, tn, "replica-tls-relay"); b.Transport != "TLS" {
		t.Errorf("binding over %s, want TLS", b.Transport)
	}
	routable(t, replicaB, tn, 1)
	messageOverTheConnection(t, newCaller(t, replicaB), p, tn)
}

// Behind a Service with --record-route-host, a call's in-dialog requests land on
// any replica: the caller's BYE that the Service hands to the replica not
// holding the phone's connection is relayed to the one that does, whichever
// replica the call went through.
func TestRecordRouteHostTakesTheBYEToATCPPhoneWithoutOutbound(t *testing.T) {
	tn := newTenant(t, "1001")
	holder, other, _ := fleetBehindService(t, tn)
	p := deskPhone(t, tn, holder)
	relaysThrough(t, tn, "replica-fleet-1")
	routable(t, other, tn, 1)
	for _, tc := range []struct {
		name string
		via  *registrar.Replica
	}{{"called through the holder", holder}, {"called through the other replica", other}} {
		t.Run(tc.name, func(t *testing.T) {
			caller := newCaller(t, tc.via)
			ok, _ := answeredCall(t, caller, p, tn)
			caller.Target = addressOf(other)
			caller.Send(caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
			if req, err := receiveOK(p, wait); err != nil || req.Method != sip.BYE {
				t.Fatalf("the BYE through the other replica did not come over the phone's connection: %v %v", req.Request, err)
			}
			if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
				t.Errorf("the BYE through the other replica got %d %s, want the phone's 200", res.StatusCode, res.Reason)
			}
		})
	}
}
