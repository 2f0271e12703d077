package registrar_test

import "testing"

// Calls that reach the registrar over TCP: the caller over TCP and the device over
// UDP (two Record-Route entries, one per transport, RFC 5658), and both over TCP
// (the INVITE goes down the device's REGISTER connection). Each call is answered,
// ACKed and hung up with BYE along the Record-Route.
func TestProxyCallOverTCP(t *testing.T) {
	_, tcp := replicaA.Addresses()
	udp, _ := replicaA.Addresses()
	for _, tc := range []struct {
		name, phoneTransport, phoneScenario, phoneTarget string
	}{
		{"caller TCP, device UDP", "u1", "uas-call.xml", udp},
		{"caller TCP, device TCP", "t1", "uas-call-tcp.xml", tcp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t, "1001")
			id := callID(t)
			callee := startSIPpOver(t, tc.phoneTransport, tc.phoneScenario, tc.phoneTarget,
				"-au", tn.user, "-ap", tn.password, "-auth_uri", tn.domain,
				"-key", "domain", tn.domain, "-key", "user", tn.user, "-key", "expires", "600",
				"-cid_str", id, "-d", "300")
			routable(t, replicaA, tn, 1)
			caller := startSIPpOver(t, "t1", "uac-call.xml", tcp,
				"-key", "domain", tn.domain, "-key", "callee", "1001", "-cid_str", id)
			if err := caller.wait(); err != nil {
				t.Fatal(err)
			}
			if err := callee.wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
