package registrar_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A device that answers a MESSAGE with a provisional response first: the caller
// gets only the final one. RFC 4320 §4.1: no element sends a provisional other
// than 100 to a non-INVITE request; forwarding the device's 180 would be ours.
func TestProxyKeepsADevicesProvisionalToANonINVITE(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello"))
	got := dev.Expect(sip.MESSAGE)

	dev.Answer(got, sip.StatusRinging, "Ringing")
	dev.Answer(got, sip.StatusOK, "OK")
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := caller.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("the caller got no final response to its MESSAGE: %v", err)
		}
		res, ok := m.Message.(*sip.Response)
		if !ok {
			continue
		}
		if res.StatusCode > 100 && res.IsProvisional() {
			t.Fatalf("the caller got the device's %d %s to its MESSAGE, want only the final response", res.StatusCode, res.Reason)
		}
		if !res.IsProvisional() {
			if res.StatusCode != sip.StatusOK {
				t.Fatalf("the caller got %d %s, want the device's 200", res.StatusCode, res.Reason)
			}
			return
		}
	}
}
