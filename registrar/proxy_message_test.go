package registrar_test

import "testing"

// A MESSAGE for a registered extension reaches its device, and the device's 200
// comes back to the sender.
func TestProxyDeliversMessage(t *testing.T) {
	tn := newTenant(t, "1001")
	id := callID(t)
	device := tn.phone(t, replicaA, "uas-message.xml", id, 0)
	routable(t, replicaA, tn, 1)
	if err := tn.caller(t, replicaA, "uac-message.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	if err := device.wait(); err != nil {
		t.Fatal(err)
	}
}
