package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/browser"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

// browserWait is how long the browser phone may take for each step: make dev's
// registrar, operator and control plane share the machine with Chromium.
const browserWait = 60 * time.Second

// A browser softphone, as a web app's developer runs one against make dev: JsSIP
// in headless Chromium, on a page of another loopback host, registers the sample
// extension over the printed wss:// address, trusting the printed certificate
// and using the printed password; a call to 1001 through the printed SIP address
// then reaches it over its WebSocket, is answered and ended by the caller.
func TestMakeDevServesABrowserSoftphone(t *testing.T) {
	if err := testenv.NeedSIPp(); err != nil {
		t.Fatal(err)
	}
	dev := startDev(t)
	printed := dev.printed
	aor := regexp.MustCompile(`sample AOR\s+(\S+)`).FindStringSubmatch(printed)
	password := regexp.MustCompile(`password\s+(\S+)`).FindStringSubmatch(printed)
	if aor == nil || password == nil {
		t.Fatalf("make dev printed no sample AOR or password:\n%s", printed)
	}
	wssAddr, cert, err := printedWSS(printed)
	if err != nil {
		t.Fatalf("%v:\n%s", err, printed)
	}
	trust, err := browser.SPKI(cert)
	if err != nil {
		t.Fatal(err)
	}
	phone := browser.NewPhone(t, browserWait)
	phone.Open(browser.Account{WS: "wss://" + wssAddr, URI: "sip:" + aor[1], Password: password[1], Expires: 600}, trust)
	if e := phone.Expect("registered"); e.Status != 200 {
		t.Fatalf("JsSIP registered with %d, want 200", e.Status)
	}
	// The registrar routes by the Extension's contacts, which the printed
	// kubectl command shows.
	kubectl := strings.Fields(printedCommand(printed, "kubectl"))
	if err := testenv.Eventually(browserWait, func() error {
		out, err := exec.Command(kubectl[0], kubectl[1:]...).CombinedOutput()
		if err != nil || !hasContacts(string(out), 1) {
			return fmt.Errorf("extension without its contact (%v):\n%s", err, out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	user, domain, _ := strings.Cut(aor[1], "@")
	call := callThrough(t, dev.sipAddr, domain, user)
	phone.Expect("newRTCSession")
	phone.Expect("confirmed")
	if e := phone.Expect("ended"); e.Text != "Terminated" {
		t.Errorf("the call ended with %q, want Terminated (the caller's BYE)", e.Text)
	}
	if err := <-call; err != nil {
		t.Fatalf("a call to JsSIP through make dev: %v", err)
	}
}

// callThrough starts SIPp calling callee@domain as a WebRTC endpoint through the
// SIP address sipAddr; the channel gets its end, with what SIPp said if it failed.
func callThrough(t *testing.T, sipAddr, domain, callee string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserWait)
	t.Cleanup(cancel)
	errs := filepath.Join(t.TempDir(), "errors.log")
	scenario := filepath.Join(testenv.Root(), "registrar", "testdata", "sipp", "uac-call-webrtc.xml")
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scenario,
		"-t", "u1", "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error",
		"-trace_err", "-error_file", errs,
		"-key", "domain", domain, "-key", "callee", callee, sipAddr)
	cmd.Dir = t.TempDir()
	done := make(chan error, 1)
	go func() {
		if out, err := cmd.CombinedOutput(); err != nil {
			logged, _ := os.ReadFile(errs)
			done <- fmt.Errorf("sipp: %w\n%s\n%s", err, testenv.LastLines(string(out), 20), testenv.LastLines(string(logged), 60))
			return
		}
		done <- nil
	}()
	return done
}
