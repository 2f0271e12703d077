package registrar_test

import (
	"fmt"
	"testing"

	"github.com/voipbin/registrar-operator/registrar"
)

// A phone registers extension 1001 and takes a call another phone places through
// the registrar: INVITE, 180, 200, ACK and BYE along the Record-Route.
func TestProxyCallToRegisteredExtension(t *testing.T) {
	tn := newTenant(t, "1001")
	id := callID(t)
	callee := tn.phone(t, replicaA, "uas-call.xml", id, 300)
	routable(t, replicaA, tn, 1)
	if err := tn.caller(t, replicaA, "uac-call.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	if err := callee.wait(); err != nil {
		t.Fatal(err)
	}
}

// Two devices of one extension both ring; the one that answers gets the call, the
// other is CANCELled (RFC 3261 §16.7 step 5).
func TestProxyForksToEveryDevice(t *testing.T) {
	tn := newTenant(t, "1001")
	id := callID(t)
	answers := tn.phone(t, replicaA, "uas-call.xml", id, 1000)
	rings := tn.phone(t, replicaA, "uas-ring-cancel.xml", id, 0)
	routable(t, replicaA, tn, 2)
	if err := tn.caller(t, replicaA, "uac-call.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	if err := answers.wait(); err != nil {
		t.Fatal(err)
	}
	if err := rings.wait(); err != nil {
		t.Fatal(err)
	}
}

// A device registered with replica B is called through replica A: A finds the
// binding in the Extension status B wrote, and sends to the device itself.
func TestProxyReachesBindingOfAnotherReplica(t *testing.T) {
	tn := newTenant(t, "1001")
	id := callID(t)
	callee := tn.phone(t, replicaB, "uas-call.xml", id, 300)
	if b := bindingsAre(t, tn, 1)[0]; b.Registrar != "replica-b" {
		t.Fatalf("binding held by %q, want replica-b", b.Registrar)
	}
	routable(t, replicaA, tn, 1)
	if err := tn.caller(t, replicaA, "uac-call.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	if err := callee.wait(); err != nil {
		t.Fatal(err)
	}
}

// routable waits until replica r routes calls for the tenant's user to n devices.
func routable(t *testing.T, r *registrar.Replica, tn *tenant, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s routes %s to %d device(s)", "the replica", tn.aor(), n), func() error {
		if got := r.Routes(tn.domain, tn.user); got != n {
			return fmt.Errorf("%d device(s)", got)
		}
		return nil
	})
}
