package registrar_test

import (
	"testing"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Customer acme-1 with extension 01 and customer acme with extension 1-01 once
// shared the name of their credential Secret, and the second could never register.
// Each registers now, with digest, with its own password and not the other's.
func TestTenantsWhoseNamesOnceCollidedBothRegister(t *testing.T) {
	acme := newTenant(t, "1-01")
	acme1 := newTenant(t, "01", func(d *sipv1.Domain) { d.Spec.CustomerID = acme.customer + "-1" })
	for _, pair := range [][2]*tenant{{acme, acme1}, {acme1, acme}} {
		tn, other := pair[0], pair[1]
		if err := tn.sipp("register-refused.xml", "udp", other.password, 600).run(t); err != nil {
			t.Fatalf("%s with the other tenant's password: %v", tn.aor(), err)
		}
		if err := tn.sipp("register.xml", "udp", tn.password, 600).run(t); err != nil {
			t.Fatalf("%s: %v", tn.aor(), err)
		}
		bindingsAre(t, tn, 1)
	}
}
