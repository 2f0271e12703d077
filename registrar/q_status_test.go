package registrar_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// A Contact's q reaches the Extension status as the 200 OK lists it ("0.5"; none
// for a Contact without q), and a replica that restarts reads it back from there
// with the binding: what `kubectl get extension -o yaml` shows is what calls use.
func TestNameQReachesStatusAndComesBackOnRestart(t *testing.T) {
	ctx := context.Background()
	tn := newTenant(t, "1001")
	var first *registrar.Replica
	stop, err := startReplica(ctx, &first, "replica-q", "127.0.0.80")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica-q knows the extension", func() error {
		if !first.Knows(tn.aor()) {
			return errStill
		}
		return nil
	})
	udp, _ := first.Addresses()
	withQ := udpPhone(t, tn, "127.0.0.1", udp)
	withQ.Contact = fmt.Sprintf("<sip:%s@%s>;q=0.50", tn.user, withQ.LocalAddr())
	withQ.MustRegister(600)
	without := udpPhone(t, tn, "127.0.0.1", udp)
	without.MustRegister(600)

	qs := map[string]string{}
	for _, b := range bindingsAre(t, tn, 2) {
		qs[b.URI] = b.Q
	}
	withURI, withoutURI := fmt.Sprintf("sip:%s@%s", tn.user, withQ.LocalAddr()), fmt.Sprintf("sip:%s@%s", tn.user, without.LocalAddr())
	if q, ok := qs[withURI]; !ok || q != "0.5" {
		t.Errorf("status q of the q=0.50 Contact: %q (bindings %v), want \"0.5\"", q, qs)
	}
	if q, ok := qs[withoutURI]; !ok || q != "" {
		t.Errorf("status q of the Contact without q: %q (bindings %v), want none", q, qs)
	}
	stop()

	var second *registrar.Replica
	stop, err = startReplica(ctx, &second, "replica-q", "127.0.0.80")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got := map[string]location.Q{}
	for _, b := range second.Table().Lookup(tn.aor(), time.Now()) {
		got[b.URI] = b.Q
	}
	if len(got) != 2 || got[withURI] != location.QOf(500) || got[withoutURI].Given() {
		t.Errorf("restored q: %v, want 0.5 for %s and none for %s", got, withURI, withoutURI)
	}
}
