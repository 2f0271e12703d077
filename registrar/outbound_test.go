package registrar_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// An RFC 5626 device registering over TCP gets its +sip.instance and reg-id back
// in the 200 OK's Contact (JsSIP ignores a 200 OK without them), Require:
// outbound and a Flow-Timer; status records the flow and how other replicas reach it.
func TestOutboundRegisterEchoesFlow(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	res := p.MustRegister(600)
	contact := siptest.HeaderValue(res, "Contact")
	if !strings.Contains(contact, `+sip.instance="`+testInstance+`"`) || !strings.Contains(contact, "reg-id=1") {
		t.Errorf("200 OK Contact %q lacks the instance or reg-id", contact)
	}
	if got := siptest.HeaderValue(res, "Require"); got != "outbound" {
		t.Errorf("Require = %q, want outbound", got)
	}
	if got := siptest.HeaderValue(res, "Flow-Timer"); got == "" {
		t.Error("no Flow-Timer")
	}
	b := bindingsAre(t, tn, 1)[0]
	if b.Instance != testInstance || b.RegID != 1 || b.FlowRoute == "" || b.Source != p.LocalAddr().String() {
		t.Errorf("status binding %+v: want the instance, reg-id 1, a flow route and the connection's address", b)
	}
}

// A second REGISTER of the same instance and reg-id over a new connection replaces
// the first binding (RFC 5626 §6), and a request for the AOR goes over the new
// connection, not the old one nor the unreachable Contact.
func TestOutboundNewFlowReplacesOldAndCarriesRequests(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	old := flowPhone(t, tn, tcp, 1)
	old.MustRegister(600)
	cur := flowPhone(t, tn, tcp, 1)
	cur.MustRegister(600)
	eventually(t, "status shows the new flow alone", func() error {
		bs := bindingsAre(t, tn, 1)
		if bs[0].Source != cur.LocalAddr().String() {
			return fmt.Errorf("binding from %s", bs[0].Source)
		}
		return nil
	})
	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
	cur.Reply(cur.Expect(sip.MESSAGE), sip.StatusOK, "OK")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
	if m, err := old.Next(200 * time.Millisecond); err == nil {
		t.Errorf("the replaced flow got a request too:\n%s", m.Raw)
	}
}

// Once the connection a device registered on is gone, a request for it fails
// its flow (430 Flow Failed, RFC 5626 §5.3): its Contact cannot be reached. The
// caller, who must never get a 430 (RFC 5626 §11.5), gets 480.
func TestOutboundClosedFlowIs480(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	p.MustRegister(600)
	p.Close()
	eventually(t, "a request for the device whose flow closed gets 480", func() error {
		caller := newCaller(t, replicaA)
		caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
		// A request sent before the replica saw the connection close may go down
		// it and wait out its transaction: ask again.
		res, err := caller.TryFinal(5 * time.Second)
		if err != nil {
			return err
		}
		if res.StatusCode != sip.StatusTemporarilyUnavailable {
			return fmt.Errorf("got %d %s", res.StatusCode, res.Reason)
		}
		return nil
	})
}

// A request that arrives at a replica that does not hold the device's flow is
// relayed to the one that does, and reaches the device over its connection.
func TestOutboundRequestAtOtherReplicaReachesFlow(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	p.MustRegister(600)
	routable(t, replicaB, tn, 1)
	caller := newCaller(t, replicaB)
	caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
	p.Reply(p.Expect(sip.MESSAGE), sip.StatusOK, "OK")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
}
