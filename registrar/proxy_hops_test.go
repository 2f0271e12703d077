package registrar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// Max-Forwards through the running registrar (RFC 3261 §16.3 step 3, §16.6 step
// 3): an INVITE that arrives with 0 is answered 483 and goes nowhere; one that
// arrives with 1 is forwarded with 0, and the device's answer comes back.
func TestProxyMaxForwards(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	aor := "sip:1001@" + tn.domain

	caller.Send(caller.Request(sip.INVITE, aor, "", "Max-Forwards: 0"))
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusTooManyHops {
		t.Fatalf("Max-Forwards 0: %d %s, want 483", res.StatusCode, res.Reason)
	}

	last := caller.Request(sip.INVITE, aor, "", "Max-Forwards: 1")
	caller.Send(last)
	// The first INVITE the device sees is this one: the one with 0 went nowhere.
	inv := dev.Expect(sip.INVITE)
	if inv.CallID().Value() != last.CallID().Value() {
		t.Fatalf("the device got Call-ID %s, want %s (the INVITE with Max-Forwards 1)", inv.CallID().Value(), last.CallID().Value())
	}
	if mf := inv.MaxForwards(); mf == nil || *mf != 0 {
		t.Errorf("forwarded Max-Forwards %v, want 0", mf)
	}
	dev.Answer(inv, sip.StatusBusyHere, "Busy Here")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusBusyHere {
		t.Fatalf("Max-Forwards 1: %d %s, want the device's 486", res.StatusCode, res.Reason)
	}
}

// A device forwards the call it gets back to the extension it belongs to (a
// call-forward to itself): the INVITE comes back to the registrar unchanged but for
// the hops it crossed, with the registrar's Via branch in it, and is answered 482
// Loop Detected (RFC 3261 §16.3 step 4). The device passes that answer on, and so
// does the registrar to the caller.
func TestProxyLoopDetected(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	aor := "sip:1001@" + tn.domain
	caller.Send(caller.Request(sip.INVITE, aor, ""))

	inv := dev.Expect(sip.INVITE)
	back := inv.Clone()
	var uri sip.Uri
	if err := sip.ParseUri(aor, &uri); err != nil {
		t.Fatal(err)
	}
	back.Recipient = uri
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: dev.Port(), Params: sip.NewParams()}
	via.Params.Add("branch", fmt.Sprintf("z9hG4bK-dev%d", time.Now().UnixNano()))
	back.PrependHeader(via)
	mf := *inv.MaxForwards() - 1
	back.ReplaceHeader(&mf)
	if err := dev.SendTo([]byte(back.String()), inv.From); err != nil {
		t.Fatal(err)
	}
	res := finalAt(t, dev, inv)
	if res.StatusCode != sip.StatusLoopDetected {
		t.Fatalf("the INVITE back at the registrar: %d %s, want 482", res.StatusCode, res.Reason)
	}
	dev.Answer(inv, sip.StatusLoopDetected, "Loop Detected")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusLoopDetected {
		t.Fatalf("the caller got %d %s, want 482", res.StatusCode, res.Reason)
	}
}

// finalAt returns the first final response the device gets, skipping the
// retransmissions of inv and provisional responses.
func finalAt(t *testing.T, dev *siptest.Phone, inv siptest.Received) *sip.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := dev.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for the answer to the looped INVITE: %v", err)
		}
		if res, ok := m.Message.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
		if req, ok := m.Message.(*sip.Request); ok && !siptest.IsRetransmission(req, inv) {
			t.Fatalf("waiting for the answer to the looped INVITE, the device got:\n%s", req)
		}
	}
}
