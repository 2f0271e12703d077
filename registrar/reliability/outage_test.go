package reliability_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// outageDuration is how long the API server stays away: the full minute a registrar
// must ride out, in make test too; RELIABILITY_OUTAGE (any Go duration) changes it.
func outageDuration(t *testing.T) time.Duration {
	if v := os.Getenv("RELIABILITY_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("RELIABILITY_OUTAGE: %v", err)
		}
		return d
	}
	return time.Minute
}

// With the API server gone, a replica keeps registering and refreshing devices from
// the credentials and nonce key it has cached; the status writes it could not make
// queue, and land once, without duplicates, when the API server is back.
func TestRegistrarRidesOutAnAPIServerOutage(t *testing.T) {
	const before, during = 5, 10 // extensions registered before the outage, and during it
	setup := time.Now()
	tn := newTenant(t, before+during, 3000, 3)
	t.Logf("%d extensions Ready in %s", before+during, time.Since(setup).Round(time.Millisecond))
	r, _ := startReplica(t, replicaConfig("replica-o", "127.0.0.1"))
	aors := make([]string, 0, before+during)
	for i := range before + during {
		aors = append(aors, tn.aor(strconv.Itoa(3000+i)))
	}
	waitKnows(t, r, aors...)
	udp, _ := r.Addresses()

	type device struct {
		phone *siptest.Phone
		nonce string
		nc    int
	}
	var devices []*device
	register := func(user string) error {
		p := newUDPPhone(t, udp, "127.0.0.1", user, tn.domain, tn.passwords[user])
		nonce, _, err := p.Authenticated(600)
		if err != nil {
			p.Close()
			return fmt.Errorf("%s: %w", user, err)
		}
		devices = append(devices, &device{phone: p, nonce: nonce, nc: 1})
		return nil
	}
	defer func() {
		for _, d := range devices {
			d.phone.Close()
		}
	}()
	for i := range before {
		if err := register(strconv.Itoa(3000 + i)); err != nil {
			t.Fatal(err)
		}
	}
	tn.waitBindings(t, before, wait)

	outage := outageDuration(t)
	apiserver := env.ControlPlane.GetAPIServer()
	stopStart := time.Now()
	if err := apiserver.Stop(); err != nil {
		t.Fatalf("stopping the API server: %v", err)
	}
	t.Logf("API server stopped in %s; outage of %s", time.Since(stopStart).Round(time.Millisecond), outage)
	restarted := false
	defer func() {
		if !restarted {
			_ = apiserver.Start()
		}
	}()
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: tn.ns, Name: "d"}, &sipv1.Domain{}); err == nil {
		t.Fatal("the API server still answers")
	}

	// During the outage: a new device every outage/during, and every device refreshes
	// (nonce count up) each round; every other round a device also takes a fresh
	// challenge, which needs the cached nonce key.
	deadline := time.Now().Add(outage)
	// Rounds are paced by a ticker: the devices' rhythm, not a wait for a state.
	pace := time.NewTicker(outage / during)
	defer pace.Stop()
	refreshes, fresh, added := 0, 0, 0
	for round := 0; time.Now().Before(deadline); round++ {
		if added < during {
			if err := register(strconv.Itoa(3000 + before + added)); err != nil {
				t.Fatalf("new device during the outage: %v", err)
			}
			added++
		}
		for i, d := range devices {
			if round%2 == 1 && i == round%len(devices) {
				n, _, err := d.phone.Authenticated(600)
				if err != nil {
					t.Fatalf("fresh challenge during the outage: %v", err)
				}
				d.nonce, d.nc = n, 1
				fresh++
				continue
			}
			d.nc++
			res, err := d.phone.Register(d.nonce, d.nc, 600)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("refresh during the outage: %v %v", res, err)
			}
			refreshes++
		}
		<-pace.C
	}
	t.Logf("during the outage: %d new devices, %d refreshes and %d fresh challenges, all 200", added, refreshes, fresh)

	start := time.Now()
	if err := apiserver.Start(); err != nil {
		t.Fatalf("restarting the API server: %v", err)
	}
	restarted = true
	t.Logf("API server back after %s", time.Since(start).Round(time.Millisecond))

	got := tn.waitBindings(t, before+added, time.Minute)
	t.Logf("queued status writes landed %s after the API server came back", time.Since(start).Round(time.Millisecond))
	for aor, bs := range got {
		seen := map[string]bool{}
		for _, b := range bs {
			if seen[b.URI] {
				t.Errorf("%s: %s twice", aor, b.URI)
			}
			seen[b.URI] = true
		}
		if len(bs) > 1 {
			t.Errorf("%s: %d bindings, want 1", aor, len(bs))
		}
	}
	// Nothing else moved: the Extensions stayed Ready (their conditions never changed).
	var list sipv1.ExtensionList
	if err := k8s.List(context.Background(), &list, client.InNamespace(tn.ns)); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		c := meta.FindStatusCondition(list.Items[i].Status.Conditions, sipv1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionTrue || c.LastTransitionTime.After(stopStart) {
			t.Errorf("%s: Ready %+v", list.Items[i].Name, c)
		}
	}
	// Watches resumed: an extension created now reaches the operator and the replica.
	// Not at once: client-go's reflectors back off exponentially (0.8 s doubling to
	// 30 s, with jitter) while the API server is away, and retry only at the next
	// step; the longer the outage, the longer both stay blind after it.
	start = time.Now()
	late := newTenant(t, 1, 3999, 0)
	t.Logf("an extension created after the outage Ready in %s", time.Since(start).Round(time.Millisecond))
	eventually(t, "the replica learns a credential published after the outage", 2*time.Minute, func() error {
		if !r.Knows(late.aor("3999")) {
			return errStill
		}
		return nil
	})
	t.Logf("... and known to the replica %s after it was created", time.Since(start).Round(time.Millisecond))
}
