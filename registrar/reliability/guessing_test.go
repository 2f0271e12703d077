package reliability_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// Sixty wrong answers for extension 7000 from one address, over one UDP socket, do
// not lock the extension's new devices out: a new device at an address that never
// failed registers at once, while the guessing address keeps being refused. The
// registrar runs with the production throttles.
func TestGuessingAnExtensionDoesNotLockOutItsNewDevices(t *testing.T) {
	tn := newTenant(t, 1, 7000, 20)
	cfg := replicaConfig("replica-g", "127.0.0.1")
	cfg.BySource, cfg.BySourceAOR, cfg.ByAOR = throttle.DefaultConfig(), throttle.DefaultPairConfig(), throttle.DefaultConfig()
	r, _ := startReplica(t, cfg)
	waitKnows(t, r, tn.aor("7000"))
	udp, _ := r.Addresses()

	guesser := newUDPPhone(t, udp, "127.0.0.11", "7000", tn.domain, "wrong-password")
	defer guesser.Close()
	res, err := guesser.Register("", 0, 600)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	judged, refused := 0, 0
	for i := range 60 {
		res, err := guesser.Register(nonce, i+1, 600)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case res.StatusCode == 403 && res.GetHeader("Retry-After") != nil:
			refused++
		case res.StatusCode == 403:
			judged++
		default:
			t.Fatalf("wrong answer %d: %d %s", i+1, res.StatusCode, res.Reason)
		}
	}
	t.Logf("60 wrong answers from 127.0.0.11: %d judged (403 Forbidden), %d refused (403 with Retry-After)", judged, refused)
	if refused == 0 {
		t.Error("the guessing address was never throttled")
	}

	newcomer := newUDPPhone(t, udp, "127.0.0.12", "7000", tn.domain, tn.passwords["7000"])
	defer newcomer.Close()
	if code := registerTwice(t, newcomer); code != 200 {
		t.Errorf("a new device of the guessed extension at a clean address: %d, want 200", code)
	}
	// Real SIP software too: SIPp answers the second challenge, the one that binds
	// the nonce to its address (stale=true), as a phone does.
	out, err := sipp(t, 30*time.Second,
		"-sf", filepath.Join("testdata", "sipp", "register-stale.xml"),
		"-t", "u1", "-i", "127.0.0.13", "-p", strconv.Itoa(freePort(t, "127.0.0.13")),
		"-m", "1", "-timeout", "20s", "-timeout_error", "-recv_timeout", "5s",
		"-au", "7000", "-ap", tn.passwords["7000"], "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", "7000", "-key", "expires", "600",
		udp)
	if err != nil {
		t.Errorf("SIPp, a new device of the guessed extension at a clean address: %v\n%s", err, testenv.LastLines(out, 20))
	}

	// The guessing address stays refused, even with the right password.
	reformed := newUDPPhone(t, udp, "127.0.0.11", "7000", tn.domain, tn.passwords["7000"])
	defer reformed.Close()
	res, err = reformed.Register("", 0, 600)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 403 || res.GetHeader("Retry-After") == nil {
		t.Errorf("the guessing address afterwards: %d %s, want 403 with Retry-After", res.StatusCode, res.Reason)
	}
}
