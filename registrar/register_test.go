package registrar_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

func (tn *tenant) sipp(scenario, transport, password string, expires int) sippRun {
	udp, tcp := replicaA.Addresses()
	target := udp
	if transport == "tcp" {
		target = tcp
	}
	return sippRun{Scenario: scenario, Transport: transport, Target: target, LocalIP: "127.0.0.1", LocalPort: tn.port,
		User: tn.user, Domain: tn.domain, Password: password, Expires: expires}
}

// The whole life of a registration, with SIPp as the phone, over UDP and TCP.
func TestRegistrationLifecycleWithSIPp(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ctx := context.Background()
			tn := newTenant(t, "1001")

			// 407 with a nonce, then 200 for the right password (§10.3 steps 3, 6-9).
			if err := tn.sipp("register.xml", transport, tn.password, 600).run(t); err != nil {
				t.Fatal(err)
			}
			b := bindingsAre(t, tn, 1)[0]
			if b.Registrar != "replica-a" || !strings.EqualFold(b.Transport, transport) ||
				!strings.HasPrefix(b.Source, "127.0.0.1:") || b.Expires != 600 || !strings.Contains(b.URI, "1001@127.0.0.1") {
				t.Errorf("binding %+v", b)
			}

			// A wrong password is refused and changes nothing.
			if err := tn.sipp("register-refused.xml", transport, "wrong-"+tn.password, 600).run(t); err != nil {
				t.Fatal(err)
			}
			bindingsAre(t, tn, 1)

			// Rotating the password: the old one stops working, the new one works.
			tn.secret.Data = map[string][]byte{"password": []byte("rotated-" + tn.password)}
			if err := k8s.Update(ctx, tn.secret); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the old password refused after rotation", func() error {
				return tn.sipp("register-refused.xml", transport, tn.password, 600).run(t)
			})
			if err := tn.sipp("register.xml", transport, "rotated-"+tn.password, 600).run(t); err != nil {
				t.Fatal(err)
			}

			// De-registration (Expires: 0) empties the status.
			if err := tn.sipp("register.xml", transport, "rotated-"+tn.password, 0).run(t); err != nil {
				t.Fatal(err)
			}
			bindingsAre(t, tn, 0)

			// Register again, then delete the Extension: the binding goes, and the next
			// REGISTER is refused.
			if err := tn.sipp("register.xml", transport, "rotated-"+tn.password, 600).run(t); err != nil {
				t.Fatal(err)
			}
			bindingsAre(t, tn, 1)
			if err := k8s.Delete(ctx, tn.ext); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the registrar forgets the deleted extension", func() error {
				if replicaA.Knows(tn.aor()) {
					return errStill
				}
				return nil
			})
			if err := tn.sipp("register-refused.xml", transport, "rotated-"+tn.password, 600).run(t); err != nil {
				t.Fatal(err)
			}
			if n := len(replicaA.Table().Lookup(tn.aor(), nowUTC())); n != 0 {
				t.Errorf("deleted extension still has %d bindings in the location table", n)
			}
		})
	}
}

func TestWWWAuthenticateDomainChallengesWith401(t *testing.T) {
	tn := newTenant(t, "1002", func(d *sipv1.Domain) { d.Spec.Authentication.Challenge = sipv1.ChallengeWWWAuthenticate })
	udp, _ := replicaA.Addresses()
	phone := udpPhone(t, tn, "127.0.0.1", udp)
	res, err := phone.Register("", 0, 600)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
		t.Fatalf("got %d %s, want 401 with WWW-Authenticate", res.StatusCode, res.Reason)
	}
	if err := tn.sipp("register.xml", "udp", tn.password, 600).run(t); err != nil {
		t.Fatal(err)
	}
	bindingsAre(t, tn, 1)
}

// A nonce issued by one replica earns a stale=true challenge at another (nonces are
// bound to their replica, so that a captured request cannot be replayed there), the
// device retries at once, and each replica's bindings show in the same Extension's
// status.
func TestTwoReplicasShareNoncesAndStatus(t *testing.T) {
	tn := newTenant(t, "1003")
	udpA, _ := replicaA.Addresses()
	udpB, _ := replicaB.Addresses()

	phone1 := udpPhone(t, tn, "127.0.0.1", udpA)
	res, err := phone1.Register("", 0, 600)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	phone1.Target = udpB
	res, err = phone1.Register(nonce, 1, 600)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 407 || !strings.Contains(res.GetHeader("Proxy-Authenticate").Value(), "stale=true") {
		t.Fatalf("replica B answered %d %s to replica A's nonce, want 407 with stale=true", res.StatusCode, res.Reason)
	}
	nonceB, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = phone1.Register(nonceB, 1, 600); err != nil || res.StatusCode != 200 {
		t.Fatalf("replica B, with its own nonce: %v %v", res, err)
	}

	phone2 := udpPhone(t, tn, "127.0.0.1", udpA)
	if res, err = phone2.Register(nonce, 2, 600); err != nil || res.StatusCode != 200 {
		t.Fatalf("replica A: %v %v", res, err)
	}
	holders := map[string]bool{}
	for _, b := range bindingsAre(t, tn, 2) {
		holders[b.Registrar] = true
	}
	if !holders["replica-a"] || !holders["replica-b"] {
		t.Errorf("bindings held by %v, want both replicas", holders)
	}

	// Each replica removes only its own entry.
	if res, err = phone1.Register(nonceB, 3, 0); err != nil || res.StatusCode != 200 {
		t.Fatalf("de-register at B: %v %v", res, err)
	}
	if b := bindingsAre(t, tn, 1); b[0].Registrar != "replica-a" {
		t.Errorf("remaining binding held by %s", b[0].Registrar)
	}
	ext := &sipv1.Extension{}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tn.ext), ext); err != nil {
		t.Fatal(err)
	}
	if !isReady(ext) {
		t.Error("the registrars' status writes trampled the operator's Ready condition")
	}
}

// A refresh that changes nothing a user relies on is not written into status: the
// status lease (expiresAt = expiry + lease) covers it.
func TestRefreshDoesNotRewriteStatus(t *testing.T) {
	ctx := context.Background()
	tn := newTenant(t, "1006")
	udp, _ := replicaA.Addresses()
	phone := udpPhone(t, tn, "127.0.0.1", udp)
	nonce, _, err := phone.Authenticated(600)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	b := bindingsAre(t, tn, 1)[0]
	// The lease is 15m less a spread of up to a quarter of it, fixed per AOR.
	if lease := time.Until(b.ExpiresAt.Time); lease < 600*time.Second+11*time.Minute || lease > 600*time.Second+15*time.Minute+time.Second {
		t.Errorf("status expiresAt is %s away, want the expiry plus 11¼ to 15 minutes of lease", lease.Round(time.Second))
	}
	ext := &sipv1.Extension{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(tn.ext), ext); err != nil {
		t.Fatal(err)
	}
	rv := ext.ResourceVersion
	for nc := 2; nc <= 4; nc++ {
		if res, err := phone.Register(nonce, nc, 600); err != nil || res.StatusCode != 200 {
			t.Fatalf("refresh: %v %v", res, err)
		}
	}
	if err := testenv.Consistently(time.Second, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(tn.ext), ext); err != nil {
			return err
		}
		if ext.ResourceVersion != rv {
			return fmt.Errorf("refreshes rewrote the extension: %+v", ext.Status.Bindings)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
