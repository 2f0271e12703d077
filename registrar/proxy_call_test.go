package registrar_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
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

// The README's tour in its order: a phone registers with register.xml for an
// hour, then the same phone (the same address and port) registers again with
// uas-call.xml and takes a call. Both scenarios register one Contact, so the
// second registration refreshes the first instead of adding a binding beside
// it, and the phone gets the INVITE once: a second copy made SIPp abort the call.
func TestREADMETourRegistersThenTakesACall(t *testing.T) {
	tn := newTenant(t, "1001")
	udp, _ := replicaA.Addresses()
	port := strconv.Itoa(freePort(t))
	registered := startSIPp(t, "register.xml", udp, "-p", port,
		"-au", tn.user, "-ap", tn.password, "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", tn.user, "-key", "expires", "3600")
	if err := registered.wait(); err != nil {
		t.Fatal(err)
	}
	id := callID(t)
	// Another interval than the first's, so that status shows the refresh (one
	// under a new Call-ID that changes nothing else is not written).
	callee := startSIPp(t, "uas-call.xml", udp, "-p", port,
		"-au", tn.user, "-ap", tn.password, "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", tn.user, "-key", "expires", "600",
		"-cid_str", id, "-d", "300")
	eventually(t, "the second registration in the status", func() error {
		ext := &sipv1.Extension{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tn.ext), ext); err != nil {
			return err
		}
		for _, b := range ext.Status.Bindings {
			if b.CallID == id {
				if n := len(ext.Status.Bindings); n != 1 {
					return fmt.Errorf("%d bindings, want the first one refreshed: %+v", n, ext.Status.Bindings)
				}
				return nil
			}
		}
		return fmt.Errorf("no binding of Call-ID %s: %+v", id, ext.Status.Bindings)
	})
	routable(t, replicaA, tn, 1)
	if err := tn.caller(t, replicaA, "uac-call.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	if err := callee.wait(); err != nil {
		t.Fatal(err)
	}
}
