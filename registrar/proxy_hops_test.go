package registrar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Max-Forwards through the running registrar (RFC 3261 §16.3 step 3, §16.6 step
// 3): an INVITE that arrives with 0 is answered 483 and goes nowhere; one that
// arrives with 1 is forwarded with 0, and the device's answer comes back.
func TestProxyMaxForwards(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newRawCaller(t, replicaA)
	aor := "sip:1001@" + tn.domain

	caller.send(caller.invite(aor, 0, ""))
	if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusTooManyHops {
		t.Fatalf("Max-Forwards 0: %d %s, want 483", res.StatusCode, res.Reason)
	}

	last := caller.invite(aor, 1, "")
	caller.send(last)
	// The first INVITE the device sees is this one: the one with 0 went nowhere.
	inv, proxy := dev.expect(sip.INVITE)
	if inv.CallID().Value() != last.CallID().Value() {
		t.Fatalf("the device got Call-ID %s, want %s (the INVITE with Max-Forwards 1)", inv.CallID().Value(), last.CallID().Value())
	}
	if mf := inv.MaxForwards(); mf == nil || *mf != 0 {
		t.Errorf("forwarded Max-Forwards %v, want 0", mf)
	}
	dev.answer(inv, proxy, sip.StatusBusyHere, "Busy Here")
	if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusBusyHere {
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
	caller := newRawCaller(t, replicaA)
	aor := "sip:1001@" + tn.domain
	orig := caller.invite(aor, 70, "")
	caller.send(orig)

	inv, proxy := dev.expect(sip.INVITE)
	back := inv.Clone()
	var uri sip.Uri
	if err := sip.ParseUri(aor, &uri); err != nil {
		t.Fatal(err)
	}
	back.Recipient = uri
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: dev.port(), Params: sip.NewParams()}
	via.Params.Add("branch", fmt.Sprintf("z9hG4bK-dev%d", time.Now().UnixNano()))
	back.PrependHeader(via)
	mf := *inv.MaxForwards() - 1
	back.ReplaceHeader(&mf)
	if _, err := dev.phone.conn.WriteTo([]byte(back.String()), proxy); err != nil {
		t.Fatal(err)
	}
	res := dev.response482(inv)
	if res.StatusCode != sip.StatusLoopDetected {
		t.Fatalf("the INVITE back at the registrar: %d %s, want 482", res.StatusCode, res.Reason)
	}
	dev.answer(inv, proxy, sip.StatusLoopDetected, "Loop Detected")
	if res := caller.final(5 * time.Second); res.StatusCode != sip.StatusLoopDetected {
		t.Fatalf("the caller got %d %s, want 482", res.StatusCode, res.Reason)
	}
}

// response482 returns the first final response the device gets, skipping the
// retransmissions of inv and provisional responses.
func (d *device) response482(inv *sip.Request) *sip.Response {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg, _, err := d.next(time.Until(deadline))
		if err != nil {
			d.t.Fatalf("waiting for the answer to the looped INVITE: %v", err)
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
		if req, ok := msg.(*sip.Request); ok && !isRetransmission(req, []*sip.Request{inv}) {
			d.t.Fatalf("waiting for the answer to the looped INVITE, the device got:\n%s", req)
		}
	}
}
