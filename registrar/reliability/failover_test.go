package reliability_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// Two replicas, one dies (SIGKILL: no flush, no goodbye).
//
//   - Its bindings stay in Extension status until their lease ends (expiry +
//     --status-lease), never before the device's registration would have expired,
//     and the operator prunes them then.
//   - A MESSAGE to a device registered on the dead replica still reaches it through
//     the survivor, which reads the binding from status and sends to the address the
//     REGISTER came from.
//   - A device that re-registers at the survivor is held by the survivor: status
//     shows its contact once, under the survivor, and when it de-registers there the
//     entry goes.
func TestReplicaDiesItsBindingsStayAndTheSurvivorTakesOver(t *testing.T) {
	const (
		lease       = 10 * time.Second // the dead replica's --status-lease
		shortExpiry = 5                // seconds, the device that is left to expire
	)
	ctx := context.Background()
	bin := buildRegistrar(t)
	tn := newTenant(t, 2, 8000, 3)
	// Let the short registration in: the Domain's default minimum is 60 s.
	d := &sipv1.Domain{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: tn.ns, Name: "d"}, d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Registration.MinExpires = 1
	if err := k8s.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	kubeconfig := writeKubeconfig(t, registrarSA, serviceAccountGroups())
	ports := freePorts(t, "127.0.0.1", 2)
	deadAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	survAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	dead := startRegistrarProcess(t, bin, kubeconfig, "replica-dead", deadAddr, "--status-lease", lease.String())
	startRegistrarProcess(t, bin, kubeconfig, "replica-surv", survAddr, "--status-lease", lease.String())
	waitServing(t, deadAddr, tn.domain, wait)
	waitServing(t, survAddr, tn.domain, wait)

	phone := func(user, target string) *siptest.Phone {
		return newUDPPhone(t, target, "127.0.0.1", user, tn.domain, tn.passwords[user])
	}
	called := phone("8000", deadAddr)   // at the dead replica; gets a MESSAGE after the kill
	mover := phone("8001", deadAddr)    // at the dead replica; re-registers at the survivor
	stays := phone("8001", survAddr)    // at the survivor all along
	expiring := phone("8000", deadAddr) // at the dead replica, registered for 5 s
	for _, p := range []*siptest.Phone{called, mover, stays} {
		if _, _, err := p.Authenticated(600); err != nil {
			t.Fatal(err)
		}
	}
	// The short registration waits for the operator to publish the new minimum.
	var expiringAt time.Time
	eventually(t, "a 5-second registration accepted", wait, func() error {
		expiringAt = time.Now().Add(shortExpiry * time.Second)
		_, _, err := expiring.Authenticated(shortExpiry)
		return err
	})
	before := tn.waitBindings(t, 4, wait)
	t.Logf("before the kill: %s", describeBindings(before))

	if err := dead.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-dead.done
	killed := time.Now()
	if _, n, err := tn.bindings(ctx); err != nil || n != 4 {
		t.Fatalf("right after the kill status shows %d bindings (%v), want 4", n, err)
	}

	// A MESSAGE to 8000 at the survivor reaches the device the dead replica held.
	delivered := called.AnswerAll()
	caller, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = caller.Close() }()
	eventually(t, "a MESSAGE through the survivor reaches the dead replica's device", wait, func() error {
		code, err := sendMessage(caller, survAddr, tn.domain, "8000")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("MESSAGE answered %d", code)
		}
		return nil
	})
	if delivered.Count(sip.MESSAGE) == 0 {
		t.Error("the caller got 200 but the device saw no MESSAGE")
	}
	t.Logf("MESSAGE delivered through the survivor %s after the kill", time.Since(killed).Round(time.Millisecond))

	// The device that moves: a fresh challenge at the survivor, then 200.
	mover.Target = survAddr
	if _, _, err := mover.Authenticated(600); err != nil {
		t.Fatalf("re-register at the survivor: %v", err)
	}
	moverURI := fmt.Sprintf("sip:8001@%s", mover.LocalAddr())
	eventually(t, "status shows the moved device once, under the survivor", wait, func() error {
		got, _, err := tn.bindings(ctx)
		if err != nil {
			return err
		}
		holders := []string{}
		for _, b := range got[tn.aor("8001")] {
			if b.URI == moverURI {
				holders = append(holders, b.Registrar)
			}
		}
		if len(holders) != 1 || holders[0] != "replica-surv" || len(got[tn.aor("8001")]) != 2 {
			return fmt.Errorf("8001: %s", describeBindings(got))
		}
		return nil
	})

	// The short registration is still shown until it would have expired, and is
	// pruned once its lease (expiry + lease) ends.
	expiringURI := fmt.Sprintf("sip:8000@%s", expiring.LocalAddr())
	shown := func() (bool, error) {
		got, _, err := tn.bindings(ctx)
		if err != nil {
			return false, err
		}
		for _, b := range got[tn.aor("8000")] {
			if b.URI == expiringURI {
				return true, nil
			}
		}
		return false, nil
	}
	for time.Now().Before(expiringAt) {
		ok, err := shown()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("the dead replica's binding left status %s before it would have expired", time.Until(expiringAt).Round(time.Millisecond))
		}
		<-time.After(100 * time.Millisecond) // polling pace
	}
	eventually(t, "the operator prunes the dead replica's expired binding", lease+30*time.Second, func() error {
		ok, err := shown()
		if err == nil && ok {
			err = errStill
		}
		return err
	})
	prunedAfter := time.Since(expiringAt)
	t.Logf("the dead replica's 5-s binding pruned %s after its expiry (lease %s)", prunedAfter.Round(time.Millisecond), lease)
	if prunedAfter < lease-2*time.Second {
		t.Errorf("pruned %s after expiry, before its lease of %s ended", prunedAfter, lease)
	}
	// The other bindings of the dead replica are untouched: their leases run on.
	got, _, err := tn.bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bs := got[tn.aor("8000")]; len(bs) != 1 || bs[0].Registrar != "replica-dead" {
		t.Errorf("8000 after the prune: %s, want the called device, still under replica-dead", describeBindings(got))
	}

	// The moved device de-registers at the survivor: its entry leaves status for good
	// (no field of it stays behind under the dead replica's field manager).
	if res, err := mover.Register("", 0, 0); err != nil {
		t.Fatal(err)
	} else if n, err := siptest.Nonce(res); err != nil {
		t.Fatal(err)
	} else if res, err = mover.Register(n, 1, 0); err != nil || res.StatusCode != 200 {
		t.Fatalf("de-register at the survivor: %v %v", res, err)
	}
	eventually(t, "the de-registered device leaves status", wait, func() error {
		got, _, err := tn.bindings(ctx)
		if err != nil {
			return err
		}
		bs := got[tn.aor("8001")]
		if len(bs) != 1 || bs[0].URI == moverURI {
			return fmt.Errorf("8001: %s", describeBindings(got))
		}
		return nil
	})
}

// describeBindings lists status bindings as aor: uri@registrar, for messages.
func describeBindings(got map[string][]sipv1.Binding) string {
	var parts []string
	for aor, bs := range got {
		for _, b := range bs {
			parts = append(parts, fmt.Sprintf("%s: %s by %s until %s", aor, b.URI, b.Registrar, b.ExpiresAt.Format(time.TimeOnly)))
		}
	}
	return strings.Join(parts, "; ")
}

// sendMessage sends a MESSAGE for user@domain to target and returns the final
// status code.
func sendMessage(c net.PacketConn, target, domain, user string) (int, error) {
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return 0, err
	}
	id := time.Now().UnixNano()
	body := "hello"
	msg := fmt.Sprintf("MESSAGE sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-msg-%d;rport\r\n"+
		"From: <sip:caller@example.invalid>;tag=c%d\r\n"+
		"To: <sip:%s@%s>\r\n"+
		"Call-ID: msg-%d@caller\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"+
		"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		user, domain, c.LocalAddr(), id, id, user, domain, id, len(body), body)
	if _, err := c.WriteTo([]byte(msg), addr); err != nil {
		return 0, err
	}
	buf := make([]byte, 65535)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return 0, fmt.Errorf("no final answer to the MESSAGE: %w", err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 && strings.Contains(res.CallID().Value(), strconv.FormatInt(id, 10)) {
			return res.StatusCode, nil
		}
	}
}
