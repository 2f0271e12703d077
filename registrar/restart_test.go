package registrar_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A replica that restarts restores its bindings from Extension status: no
// registration is lost, and the device's next refresh is accepted once it has
// answered the restarted replica's stale=true challenge (its old nonce is bound to
// the process that issued it).
func TestRestartedReplicaRestoresItsBindings(t *testing.T) {
	ctx := context.Background()
	tn := newTenant(t, "1004")
	var first *registrar.Replica
	stop, err := startReplica(ctx, &first, "replica-c", "127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica-c knows the extension", func() error {
		if !first.Knows(tn.aor()) {
			return errStill
		}
		return nil
	})
	udp, _ := first.Addresses()
	phone := udpPhone(t, tn, "127.0.0.1", udp)
	nonce, _, err := phone.Authenticated(600)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	bindingsAre(t, tn, 1)
	stop()

	var second *registrar.Replica
	stop, err = startReplica(ctx, &second, "replica-c", "127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got := second.Table().Lookup(tn.aor(), time.Now()); len(got) != 1 {
		t.Fatalf("restarted replica holds %d bindings of %s, want 1", len(got), tn.aor())
	}
	// The device refreshes against the restarted replica, on the same Call-ID.
	udp, _ = second.Addresses()
	phone.Target = udp
	res, err := phone.Register(nonce, 2, 600)
	if err != nil || res.StatusCode != 407 ||
		!strings.Contains(res.GetHeader("Proxy-Authenticate").Value(), "stale=true") {
		t.Fatalf("refresh after restart with the old nonce: %v %v, want 407 with stale=true", res, err)
	}
	if nonce, err = siptest.Nonce(res); err != nil {
		t.Fatal(err)
	}
	if res, err = phone.Register(nonce, 1, 600); err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh after restart: %v %v", res, err)
	}
	if b := bindingsAre(t, tn, 1); b[0].Registrar != "replica-c" {
		t.Errorf("binding held by %s", b[0].Registrar)
	}
}

// Disabling an extension drops its bindings from the registrar and from status, and
// refuses its next REGISTER.
func TestDisabledExtensionLosesItsBindings(t *testing.T) {
	ctx := context.Background()
	tn := newTenant(t, "1005")
	if err := tn.sipp("register.xml", "udp", tn.password, 600).run(t); err != nil {
		t.Fatal(err)
	}
	bindingsAre(t, tn, 1)
	ext := &sipv1.Extension{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(tn.ext), ext); err != nil {
		t.Fatal(err)
	}
	ext.Spec.Disabled = true
	if err := k8s.Update(ctx, ext); err != nil {
		t.Fatal(err)
	}
	bindingsAre(t, tn, 0)
	eventually(t, "the registrar forgets the disabled extension", func() error {
		if replicaA.Knows(tn.aor()) {
			return fmt.Errorf("still knows %s", tn.aor())
		}
		return nil
	})
	if err := tn.sipp("register-refused.xml", "udp", tn.password, 600).run(t); err != nil {
		t.Fatal(err)
	}
}
