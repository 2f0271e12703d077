package registrar_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// An RFC 5626 device registering over TCP gets its +sip.instance and reg-id back
// in the 200 OK's Contact (JsSIP ignores a 200 OK without them), Require:
// outbound and a Flow-Timer; status records the flow and how other replicas reach it.
func TestOutboundRegisterEchoesFlow(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := dialFlow(t, tn, tcp)
	res := p.register(1)
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	contact := headerValue(res, "Contact")
	if !strings.Contains(contact, `+sip.instance="`+testInstance+`"`) || !strings.Contains(contact, "reg-id=1") {
		t.Errorf("200 OK Contact %q lacks the instance or reg-id", contact)
	}
	if got := headerValue(res, "Require"); got != "outbound" {
		t.Errorf("Require = %q, want outbound", got)
	}
	if got := headerValue(res, "Flow-Timer"); got == "" {
		t.Error("no Flow-Timer")
	}
	b := bindingsAre(t, tn, 1)[0]
	if b.Instance != testInstance || b.RegID != 1 || b.FlowRoute == "" || b.Source != p.conn.LocalAddr().String() {
		t.Errorf("status binding %+v: want the instance, reg-id 1, a flow route and the connection's address", b)
	}
}

// A second REGISTER of the same instance and reg-id over a new connection replaces
// the first binding (RFC 5626 §6), and a request for the AOR goes over the new
// connection, not the old one nor the unreachable Contact.
func TestOutboundNewFlowReplacesOldAndCarriesRequests(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	old := dialFlow(t, tn, tcp)
	if res := old.register(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("first REGISTER: %d", res.StatusCode)
	}
	cur := dialFlow(t, tn, tcp)
	if res := cur.register(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("second REGISTER: %d", res.StatusCode)
	}
	eventually(t, "status shows the new flow alone", func() error {
		bs := bindingsAre(t, tn, 1)
		if bs[0].Source != cur.conn.LocalAddr().String() {
			return fmt.Errorf("binding from %s", bs[0].Source)
		}
		return nil
	})
	caller := newRawCaller(t, replicaA)
	caller.send(caller.message("sip:" + tn.aor()))
	req, err := cur.receive(5 * time.Second)
	if err != nil {
		t.Fatalf("the MESSAGE did not come over the registered connection: %v", err)
	}
	if req.Method != sip.MESSAGE {
		t.Fatalf("got %s", req.Method)
	}
	if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
	if _, err := old.receive(200 * time.Millisecond); err == nil {
		t.Error("the replaced flow got a request too")
	}
}

// Once the connection a device registered on is gone, a request for it is
// answered 430 Flow Failed (RFC 5626 §5.3): its Contact cannot be reached.
func TestOutboundClosedFlowIs430(t *testing.T) {
	tn := newTenant(t, "1001")
	_, tcp := replicaA.Addresses()
	p := dialFlow(t, tn, tcp)
	if res := p.register(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	_ = p.conn.Close()
	eventually(t, "a request for the device whose flow closed gets 430", func() error {
		caller := newRawCaller(t, replicaA)
		caller.send(caller.message("sip:" + tn.aor()))
		if res := caller.final(10 * time.Second); res.StatusCode != 430 {
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
	p := dialFlow(t, tn, tcp)
	if res := p.register(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	routable(t, replicaB, tn, 1)
	caller := newRawCaller(t, replicaB)
	caller.send(caller.message("sip:" + tn.aor()))
	req, err := p.receive(5 * time.Second)
	if err != nil {
		t.Fatalf("the MESSAGE sent to the other replica did not reach the flow: %v", err)
	}
	if req.Method != sip.MESSAGE {
		t.Fatalf("got %s", req.Method)
	}
	if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("caller got %d %s", res.StatusCode, res.Reason)
	}
}
