package reliability_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// floodRun is one bounded password-guessing flood with SIPp.
type floodRun struct {
	calls, rate int
	sourceIP    string
	user        string
}

func (f floodRun) run(t *testing.T, tn *tenant, target string) (string, time.Duration, error) {
	start := time.Now()
	out, err := sipp(t, 60*time.Second,
		"-sf", filepath.Join("testdata", "sipp", "flood.xml"),
		"-t", "u1", "-i", f.sourceIP, "-p", strconv.Itoa(freePort(t, f.sourceIP)),
		"-m", strconv.Itoa(f.calls), "-r", strconv.Itoa(f.rate), "-l", "200",
		"-timeout", "40s", "-recv_timeout", "5s",
		"-au", f.user, "-ap", "wrong-password", "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", f.user,
		target)
	return out, time.Since(start), err
}

// latencies is a device's REGISTER timings under load.
type latencies struct {
	mu   sync.Mutex
	ok   []time.Duration
	fail []string
}

func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ok) == 0 {
		return fmt.Sprintf("0 ok, %d failed %v", len(l.fail), l.fail)
	}
	s := append([]time.Duration(nil), l.ok...)
	slices.Sort(s)
	return fmt.Sprintf("%d ok, %d failed; challenge+register p50 %s, p95 %s, max %s",
		len(s), len(l.fail), s[len(s)/2].Round(time.Microsecond), s[len(s)*95/100].Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}

// A flood of wrong passwords from one address does not keep a device at another
// address from registering: the flooding source is throttled (403 with Retry-After
// before any digest work), and the legitimate SIPp at 127.0.0.5 keeps getting 200.
//
// The second half: a guesser that targets the device's own extension spends its
// failure budget, which holds back only the addresses that failed: the device that
// holds a binding keeps registering, and a new device elsewhere registers too.
func TestPasswordFloodFromOneSource(t *testing.T) {
	tn := newTenant(t, 2, 5000, 20)
	cfg := replicaConfig("replica-f", "127.0.0.1")
	cfg.BySource, cfg.BySourceAOR, cfg.ByAOR = throttle.DefaultConfig(), throttle.DefaultPairConfig(), throttle.DefaultConfig()
	r, _ := startReplica(t, cfg)
	waitKnows(t, r, tn.aor("5000"), tn.aor("5001"))
	udp, _ := r.Addresses()

	t.Run("another extension", func(t *testing.T) {
		flood := floodRun{calls: 3000, rate: 500, sourceIP: "127.0.0.4", user: "5001"}
		var wg sync.WaitGroup
		var floodOut string
		var floodTime time.Duration
		var floodErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			floodOut, floodTime, floodErr = flood.run(t, tn, udp)
		}()
		// The legitimate device: SIPp at 127.0.0.5, 20 registrations at 4 per second
		// while the flood runs, and a raw phone at 127.0.0.5 timing each exchange.
		// The flood is under way once its source is throttled: a bare REGISTER from
		// there gets 403 with Retry-After instead of a challenge.
		probe := newUDPPhone(t, udp, "127.0.0.4", "5001", tn.domain, "")
		eventually(t, "the flooding source throttled", 30*time.Second, func() error {
			res, err := probe.Register("", 0, 600)
			if err != nil {
				return err
			}
			if res.StatusCode != 403 || res.GetHeader("Retry-After") == nil {
				return fmt.Errorf("answered %d", res.StatusCode)
			}
			return nil
		})
		probe.Close()
		phone := newUDPPhone(t, udp, "127.0.0.5", "5000", tn.domain, tn.passwords["5000"])
		defer phone.Close()
		var lat latencies
		stopPhone := make(chan struct{})
		phoneDone := make(chan struct{})
		go func() {
			defer close(phoneDone)
			for {
				select {
				case <-stopPhone:
					return
				case <-time.After(100 * time.Millisecond):
				}
				start := time.Now()
				_, _, err := phone.Authenticated(600)
				lat.mu.Lock()
				if err != nil {
					lat.fail = append(lat.fail, err.Error())
				} else {
					lat.ok = append(lat.ok, time.Since(start))
				}
				lat.mu.Unlock()
			}
		}()
		legitOut, legitErr := sipp(t, 60*time.Second,
			"-sf", filepath.Join("testdata", "sipp", "register-contacts.xml"),
			"-t", "u1", "-i", "127.0.0.5", "-p", strconv.Itoa(freePort(t, "127.0.0.5")),
			"-m", "20", "-r", "4", "-l", "5", "-timeout", "30s", "-timeout_error", "-recv_timeout", "5s",
			"-au", "5000", "-ap", tn.passwords["5000"], "-auth_uri", tn.domain,
			"-key", "domain", tn.domain, "-key", "user", "5000", "-key", "expires", "600",
			udp)
		wg.Wait()
		close(stopPhone)
		<-phoneDone
		t.Logf("flood from 127.0.0.4 (%d REGISTERs at %d/s on new Call-IDs, wrong password, extension 5001): %s in %s",
			flood.calls, flood.rate, sippSummary(floodOut), floodTime.Round(time.Millisecond))
		if floodErr != nil {
			t.Logf("flood SIPp ended with %v", floodErr)
		}
		t.Logf("legitimate SIPp from 127.0.0.5: %s", sippSummary(legitOut))
		t.Logf("legitimate phone from 127.0.0.5 during the flood: %s", lat.String())
		if legitErr != nil {
			t.Errorf("the legitimate device failed during the flood: %v", legitErr)
		}
		if len(lat.fail) > 0 {
			t.Errorf("the legitimate phone failed during the flood: %v", lat.fail)
		}
		// The flooding source is blocked now, even with the right password.
		blocked := newUDPPhone(t, udp, "127.0.0.4", "5001", tn.domain, tn.passwords["5001"])
		defer blocked.Close()
		res, err := blocked.Register("", 0, 600)
		if err != nil || res.StatusCode != 403 || res.GetHeader("Retry-After") == nil {
			t.Errorf("the flooding source: %v %v, want 403 with Retry-After", res, err)
		}
	})

	t.Run("the device's own extension", func(t *testing.T) {
		// The device holds a binding of 5000 from 127.0.0.5 before the guessing starts.
		phone := newUDPPhone(t, udp, "127.0.0.5", "5000", tn.domain, tn.passwords["5000"])
		defer phone.Close()
		if code := registerTwice(t, phone); code != 200 {
			t.Fatalf("the device's first registration: %d", code)
		}
		// Eleven guesses from a fresh address at extension 5000: the per-AOR block.
		flood := floodRun{calls: 11, rate: 50, sourceIP: "127.0.0.7", user: "5000"}
		if out, _, err := flood.run(t, tn, udp); err != nil {
			t.Fatalf("guesses: %v\n%s", err, out)
		}
		code := registerTwice(t, phone)
		t.Logf("the registered device, after 11 guesses at its extension from elsewhere: %d", code)
		if code != 200 {
			t.Errorf("the guesser locked the registered device out: %d", code)
		}
		// A device that has no binding yet, at an address that never failed, is not
		// held back by the spent budget (TestGuessingAnExtensionDoesNotLockOutItsNewDevices).
		newcomer := newUDPPhone(t, udp, "127.0.0.8", "5000", tn.domain, tn.passwords["5000"])
		defer newcomer.Close()
		if code := registerTwice(t, newcomer); code != 200 {
			t.Errorf("a new device while the extension's budget is spent: %d, want 200", code)
		}
	})
}

// registerTwice is a device's REGISTER, challenge and authenticated REGISTER, and
// one more after a stale=true challenge, as devices do (the registrar sends one to
// bind the nonce to the device's address while its extension's failure budget is
// spent); it returns the final status code.
func registerTwice(t *testing.T, phone *siptest.Phone) int {
	t.Helper()
	res, err := phone.Register("", 0, 600)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 && res.StatusCode != 407 {
		return res.StatusCode
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = phone.Register(nonce, 1, 600); err != nil {
		t.Fatal(err)
	}
	if siptest.IsStale(res) {
		if nonce, err = siptest.Nonce(res); err != nil {
			t.Fatal(err)
		}
		if res, err = phone.Register(nonce, 1, 600); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}
