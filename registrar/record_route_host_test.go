package registrar_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// fleetHost is the address phones reach the fleet at in these tests: a name no
// replica listens on nor resolves, and no served domain (a Route naming one of
// those is ours anyway). A replica that did not take it as its own would try to
// send to it, and the request would reach nobody.
const fleetHost = "sip.fleet.invalid"

// fleetBehindService starts two replicas, as two pods behind one Service: each on
// an address of its own, both on the same port, with --record-route-host naming
// the Service. It returns them and that port.
func fleetBehindService(t *testing.T, tn *tenant) (r1, r2 *registrar.Replica, port string) {
	t.Helper()
	port = strconv.Itoa(freePort(t))
	start := func(name, ip string) *registrar.Replica {
		return startExtraReplica(t, name, ip, tn, func(c *registrar.Config) {
			c.SIPAddress = net.JoinHostPort(ip, port)
			c.RecordRouteHost = fleetHost
		})
	}
	return start("replica-fleet-1", "127.0.0.90"), start("replica-fleet-2", "127.0.0.91"), port
}

// A phone outside the cluster follows Record-Route (RFC 3261 §12.1) to the
// Service, not to the pod that record-routed, which it cannot reach: with
// --record-route-host a call's Record-Route names the Service, and an in-dialog
// request along it that the Service hands to the other replica still reaches the
// other party, whichever side hangs up.
func TestRecordRouteHostTakesTheBYEThroughAnyReplica(t *testing.T) {
	tn := newTenant(t, "1001")
	r1, r2, port := fleetBehindService(t, tn)
	callee := udpPhone(t, tn, "127.0.0.1", addressOf(r1))
	callee.MustRegister(600)
	routable(t, r1, tn, 1)
	routable(t, r2, tn, 1)
	want := "<sip:" + fleetHost + ":" + port + ";transport=udp;lr>"

	hangUpEitherSide(t, r1, r2, callee, tn, want, "the other replica")
}

// A device on an outbound flow (RFC 5626) held by one replica, called through the
// other: both record-route the Service, and the caller's BYE along that route set,
// which the Service hands to the flow's holder, comes over the flow; the device's,
// over its flow, reaches the caller.
func TestRecordRouteHostTakesTheBYEOverAFlow(t *testing.T) {
	tn := newTenant(t, "1001")
	r1, r2, _ := fleetBehindService(t, tn)
	_, tcp := r1.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	p.MustRegister(600)
	routable(t, r2, tn, 1)
	caller := newCaller(t, r2)

	ok, _ := answeredCall(t, caller, p, tn)
	rrs := recordRoutes(ok)
	if len(rrs) == 0 {
		t.Fatal("the caller's 200 has no Record-Route")
	}
	for _, rr := range rrs {
		if !strings.HasPrefix(rr, "<sip:"+fleetHost+":") {
			t.Errorf("Record-Route %s of the caller's 200 does not name %s", rr, fleetHost)
		}
	}
	caller.Target = addressOf(r1)
	caller.Send(caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
	if req, err := receiveOK(p, wait); err != nil || req.Method != sip.BYE {
		t.Fatalf("the caller's BYE did not come over the flow: %v %v", req.Request, err)
	}
	if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
		t.Errorf("the caller's BYE got %d %s", res.StatusCode, res.Reason)
	}

	_, inv := answeredCall(t, caller, p, tn)
	p.Send(p.Bye(inv))
	bye, err := caller.NextRequest(wait)
	if err != nil || bye.Method != sip.BYE {
		t.Fatalf("the device's BYE did not reach the caller: %v %v", bye.Request, err)
	}
	caller.Reply(bye, sip.StatusOK, "OK")
	if res := p.Final(wait); res.StatusCode != sip.StatusOK {
		t.Errorf("the device's BYE got %d %s, want the caller's 200", res.StatusCode, res.Reason)
	}
}

// answeredThrough has caller call tn's user, whose device callee answers 200; the
// caller ACKs along the Record-Route and the ACK reaches the callee. It returns
// the caller's 200 and the callee's INVITE. Retransmissions of the INVITE over UDP
// are passed over.
func answeredThrough(t *testing.T, caller, callee *siptest.Phone, tn *tenant) (*sip.Response, siptest.Received) {
	t.Helper()
	caller.Send(caller.Request(sip.INVITE, "sip:"+tn.aor(), ""))
	inv := callee.Expect(sip.INVITE)
	callee.Answer(inv, sip.StatusOK, "OK")
	ok := caller.Final(wait)
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the caller got %d %s, want 200", ok.StatusCode, ok.Reason)
	}
	caller.Send(caller.AckOf(ok))
	callee.Expect(sip.ACK, inv)
	return ok, inv
}

// recordRoutes lists m's Record-Route entries, top first.
func recordRoutes(m sip.Message) []string {
	var out []string
	for _, h := range m.GetHeaders("Record-Route") {
		for v := range strings.SplitSeq(h.Value(), ",") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// hangUpEitherSide places two calls from a caller at r1 to callee, registered
// at r1, each with want as its one Record-Route entry in the forwarded INVITE and
// the caller's 200; the first the caller ends with a BYE sent to r2, the second
// the callee, and each BYE, which crosses through (how the BYE goes, for the
// messages), reaches the other party and its 200 comes back.
func hangUpEitherSide(t *testing.T, r1, r2 *registrar.Replica, callee *siptest.Phone, tn *tenant, want, through string) {
	t.Helper()
	t.Run("the caller hangs up", func(t *testing.T) {
		caller := newCaller(t, r1)
		ok, inv := answeredThrough(t, caller, callee, tn)
		for name, m := range map[string]sip.Message{"the forwarded INVITE": inv.Request, "the caller's 200": ok} {
			if got := recordRoutes(m); len(got) != 1 || got[0] != want {
				t.Errorf("Record-Route of %s = %v, want %s", name, got, want)
			}
		}
		caller.Target = addressOf(r2)
		bye := caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1)
		caller.Send(bye)
		got := callee.Expect(sip.BYE, inv)
		if got.CallID().Value() != bye.CallID().Value() {
			t.Fatalf("the callee got a BYE of call %s, want %s", got.CallID().Value(), bye.CallID().Value())
		}
		callee.Reply(got, sip.StatusOK, "OK")
		if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
			t.Errorf("the BYE through %s got %d %s, want the callee's 200", through, res.StatusCode, res.Reason)
		}
	})
	t.Run("the callee hangs up", func(t *testing.T) {
		caller := newCaller(t, r1)
		_, inv := answeredThrough(t, caller, callee, tn)
		callee.Target = addressOf(r2)
		defer func() { callee.Target = addressOf(r1) }()
		callee.Send(callee.Bye(inv))
		bye, err := caller.NextRequest(wait)
		if err != nil || bye.Method != sip.BYE {
			t.Fatalf("the callee's BYE through %s did not reach the caller: %v %v", through, bye.Request, err)
		}
		caller.Reply(bye, sip.StatusOK, "OK")
		if res := callee.Final(wait); res.StatusCode != sip.StatusOK {
			t.Errorf("the callee's BYE got %d %s, want the caller's 200", res.StatusCode, res.Reason)
		}
	})
}
