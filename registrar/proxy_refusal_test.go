package registrar_test

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Calls that reach no device: 480 when the extension has no registered device or
// is disabled, 404 when there is no such extension or domain.
func TestProxyRefusals(t *testing.T) {
	tn := newTenant(t, "1001")
	call := func(scenario, domain, callee string) {
		t.Helper()
		other := *tn
		other.domain = domain
		if err := other.caller(t, replicaA, scenario, callID(t), callee).wait(); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("not registered", func(t *testing.T) { call("uac-invite-480.xml", tn.domain, "1001") })
	t.Run("no such extension", func(t *testing.T) { call("uac-invite-404.xml", tn.domain, "1002") })
	t.Run("no such domain", func(t *testing.T) { call("uac-invite-404.xml", "nowhere.example", "1001") })
	t.Run("disabled", func(t *testing.T) {
		eventually(t, "disable the extension", func() error {
			ext := &sipv1.Extension{}
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tn.ext), ext); err != nil {
				return err
			}
			ext.Spec.Disabled = true
			return k8s.Update(context.Background(), ext)
		})
		eventually(t, "the replica forgets the disabled extension", func() error {
			if replicaA.Knows(tn.aor()) {
				return errStill
			}
			return nil
		})
		call("uac-invite-480.xml", tn.domain, "1001")
	})
}
